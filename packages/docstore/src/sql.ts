import { DocStoreError } from './errors.js';

/** Ids that reach a SQL filter are limited to this alphabet (chunk ids are hex, RAGFlow ids are uuid hex). */
const SAFE_ID = /^[A-Za-z0-9_.-]{1,256}$/;
const SAFE_TENANT = /^[A-Za-z0-9_-]{1,128}$/;

export function checkId(kind: string, value: unknown): string {
  if (typeof value !== 'string' || !SAFE_ID.test(value)) {
    throw new DocStoreError(`invalid ${kind} ${JSON.stringify(value)}: only [A-Za-z0-9_.-] allowed`, false);
  }
  return value;
}

export function checkTenant(tenantId: unknown): string {
  if (typeof tenantId !== 'string' || !SAFE_TENANT.test(tenantId)) {
    throw new DocStoreError(`invalid tenant id ${JSON.stringify(tenantId)}: only [A-Za-z0-9_-] allowed`, false);
  }
  return tenantId;
}

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
