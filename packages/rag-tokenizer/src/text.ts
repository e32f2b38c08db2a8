// Python's view of a string, which RAGFlow's tokenizer is written against: indexing and len() by
// code point, and str.split() on Python's whitespace.

export const codePoints = (s: string): string[] => Array.from(s);

export const codePointLength = (s: string): number => Array.from(s).length;

// runs of Python's str.split() whitespace (which differs from JS \s at \x1c-\x1f and \ufeff)
const PY_WHITESPACE = /[\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/u;

/** Python's str.split() with no arguments. */
export function splitWhitespace(text: string): string[] {
  return text.split(PY_WHITESPACE).filter(Boolean);
}
