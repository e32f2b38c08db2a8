import { PyFloat, pythonFloatRepr } from './python.js';

export interface JsonDumpsOptions {
  /** Python's default True: every non-ASCII character as \uXXXX (astral ones as a surrogate pair) */
  ensureAscii?: boolean;
}

/**
 * Python `json.dumps(value)` with its default separators (", " and ": ") and `ensure_ascii`, so text
 * RAGFlow stores (e.g. the tag cache's `json.dumps(tags)`) is byte-identical when Ragline writes it.
 * Numbers follow pythonRepr's int/float rule; wrap a number in PyFloat to force float formatting.
 */
export function pythonJsonDumps(value: unknown, opts: JsonDumpsOptions = {}): string {
  const ascii = opts.ensureAscii ?? true;
  const dump = (v: unknown): string => {
    if (v === null || v === undefined) return 'null';
    if (v === true) return 'true';
    if (v === false) return 'false';
    if (v instanceof PyFloat) return floatJson(v.value);
    if (typeof v === 'number') return Number.isInteger(v) && Math.abs(v) < 1e16 ? (Object.is(v, -0) ? '0' : String(v)) : floatJson(v);
    if (typeof v === 'bigint') return v.toString();
    if (typeof v === 'string') return jsonString(v, ascii);
    if (Array.isArray(v)) return `[${v.map(dump).join(', ')}]`;
    if (v instanceof Map) return `{${[...v.entries()].map(([k, x]) => `${jsonString(String(k), ascii)}: ${dump(x)}`).join(', ')}}`;
    if (typeof v === 'object') {
      return `{${Object.entries(v as Record<string, unknown>)
        .map(([k, x]) => `${jsonString(k, ascii)}: ${dump(x)}`)
        .join(', ')}}`;
    }
    throw new TypeError(`pythonJsonDumps: unsupported value of type ${typeof v}`);
  };
  return dump(value);
}

function floatJson(x: number): string {
  // json.dumps writes float.__repr__, except the non-finite values it spells as JavaScript does
  if (Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return 'Infinity';
  if (x === -Infinity) return '-Infinity';
  return pythonFloatRepr(x);
}

const SHORT: Record<string, string> = { '"': '\\"', '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\b': '\\b', '\f': '\\f' };

function jsonString(s: string, ascii: boolean): string {
  let out = '"';
  // UTF-16 units, so an astral character becomes its surrogate pair as Python's encoder writes it
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    const u = s.charCodeAt(i);
    const short = SHORT[ch];
    if (short) out += short;
    else if (u < 0x20 || (ascii && u > 0x7e)) out += `\\u${u.toString(16).padStart(4, '0')}`;
    else out += ch;
  }
  return out + '"';
}
