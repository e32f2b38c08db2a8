import { checkId } from './ids.js';

// SQL predicates for LanceDB filters, over ids checkId() accepted.

/** A SQL string literal; ids are validated first, quoting doubles any quote as defence in depth. */
export function literal(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

export function eq(column: string, kind: string, value: string): string {
  return `${column} = ${literal(checkId(kind, value))}`;
}

export function inList(column: string, kind: string, values: readonly string[]): string {
  return `${column} IN (${values.map((v) => literal(checkId(kind, v))).join(', ')})`;
}

export function and(...conds: (string | undefined)[]): string {
  return conds
    .filter((c): c is string => !!c)
    .map((c) => `(${c})`)
    .join(' AND ');
}
