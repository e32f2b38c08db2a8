import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { DeployFileError } from './errors.js';

/** Every document of a (multi-document) YAML text; YAML merge keys (`<<`) are applied as Compose does. */
export function parseYamlDocuments(text: string, file = '<text>'): unknown[] {
  const docs = parseAllDocuments(text, { merge: true, prettyErrors: true, uniqueKeys: true });
  const out: unknown[] = [];
  for (const doc of docs) {
    const problems = [...doc.errors, ...doc.warnings];
    if (problems.length) throw new DeployFileError(file, problems.map((e) => e.message).join('; '));
    const value: unknown = doc.toJS({ maxAliasCount: 1000 });
    // a trailing `---` yields an empty document, which kubectl ignores too
    if (value !== null && value !== undefined) out.push(value);
  }
  return out;
}

export function readYamlDocuments(file: string): unknown[] {
  return parseYamlDocuments(readFileSync(file, 'utf8'), file);
}

/** Files under `dir` (recursively) whose names end with one of `extensions`, sorted. */
export function listFiles(dir: string, extensions: readonly string[]): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...listFiles(path, extensions));
    else if (extensions.some((e) => name.endsWith(e))) out.push(path);
  }
  return out.sort();
}
