/**
 * A number that must be written as a Python float (`0.0`, `12.0`) rather than an int. JavaScript has one
 * number type, so integral values are written as ints unless wrapped (RAGFlow's messages carry `"progress": 0.0`).
 */
export class PythonFloat {
  constructor(readonly value: number) {}
}

export const pyFloat = (value: number): PythonFloat => new PythonFloat(value);

/**
 * `json.dumps(obj)` with Python's defaults: separators ", " and ": ", `ensure_ascii=True` (every code unit
 * outside printable ASCII becomes `\uXXXX`, lower-case hex; astral characters as surrogate pairs),
 * `allow_nan=True` (NaN, Infinity, -Infinity), floats as `repr()`. Keys keep insertion order (Python
 * dicts do too). Like JSON.stringify, `toJSON()` is honoured and `undefined`/functions are left out of
 * objects and written as null in arrays.
 */
export function pythonJsonDumps(value: unknown): string {
  const out = encode(value, new Set());
  if (out === undefined) throw new TypeError(`Object of type ${typeof value} is not JSON serializable`);
  return out;
}

function encode(value: unknown, seen: Set<object>): string | undefined {
  if (value === null) return 'null';
  if (value instanceof PythonFloat) return pythonFloatRepr(value.value);
  if (value && typeof value === 'object' && typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    value = (value as { toJSON: () => unknown }).toJSON();
    if (value === null) return 'null';
  }
  switch (typeof value) {
    case 'string':
      return encodeString(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      // integral numbers are Python ints (any size); others are floats
      return Number.isInteger(value) ? BigInt(value).toString() : pythonFloatRepr(value);
    case 'bigint':
      return value.toString();
    case 'undefined':
    case 'function':
    case 'symbol':
      return undefined;
  }
  const obj = value as object;
  if (seen.has(obj)) throw new TypeError('Circular reference detected');
  seen.add(obj);
  try {
    if (Array.isArray(obj)) {
      return `[${obj.map((item) => encode(item, seen) ?? 'null').join(', ')}]`;
    }
    const parts: string[] = [];
    for (const [key, item] of Object.entries(obj)) {
      const encoded = encode(item, seen);
      if (encoded !== undefined) parts.push(`${encodeString(key)}: ${encoded}`);
    }
    return `{${parts.join(', ')}}`;
  } finally {
    seen.delete(obj);
  }
}

const SHORT_ESCAPES: Record<string, string> = {
  '"': '\\"',
  '\\': '\\\\',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '\b': '\\b',
  '\f': '\\f',
};

function encodeString(s: string): string {
  // Python's ESCAPE_ASCII escapes everything outside ' '..'~' plus '"' and '\'
  return `"${s.replace(/[^ -~]|["\\]/g, (ch) => {
    const short = SHORT_ESCAPES[ch];
    if (short) return short;
    // a UTF-16 code unit; JS strings iterate astral characters as their surrogate pair, as Python writes them
    return `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`;
  })}"`;
}

/** Python's float repr: shortest round-trip digits, fixed notation for exponents -4..15, else `d.ddde+XX`. */
export function pythonFloatRepr(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return 'Infinity';
  if (x === -Infinity) return '-Infinity';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const [mantissa = '0', expText = '0'] = x.toExponential().split('e');
  const exp = Number(expText);
  const negative = mantissa.startsWith('-');
  const digits = mantissa.replace('-', '').replace('.', '');
  const sign = negative ? '-' : '';
  if (exp < -4 || exp >= 16) {
    const frac = digits.slice(1);
    const expSign = exp < 0 ? '-' : '+';
    return `${sign}${digits[0]}${frac ? `.${frac}` : ''}e${expSign}${String(Math.abs(exp)).padStart(2, '0')}`;
  }
  if (exp < 0) return `${sign}0.${'0'.repeat(-exp - 1)}${digits}`;
  const intPart = digits.slice(0, exp + 1).padEnd(exp + 1, '0');
  const fracPart = digits.slice(exp + 1);
  return `${sign}${intPart}.${fracPart || '0'}`;
}
