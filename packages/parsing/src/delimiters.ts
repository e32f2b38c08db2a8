// RAGFlow's `parser_config.delimiter` grammar (rag/nlp/delim.py): every character outside
// backticks is a delimiter of its own, text between a pair of backticks is one delimiter.

const WRAPPED = /`([^`]+)`/g;

function normalizeNewlines(s: string): string {
  return s.replace(/\r\n?/g, '\n');
}

/** Delimiters of the field: deduplicated (first occurrence wins), longest first, CRLF/CR as LF. */
export function parseDelimiters(delimiter: string): string[] {
  if (!delimiter) return [];
  const text = normalizeNewlines(delimiter);
  const seen = new Set<string>();
  const found: string[] = [];
  const add = (d: string): void => {
    if (d && !seen.has(d)) {
      seen.add(d);
      found.push(d);
    }
  };
  let cursor = 0;
  for (const m of text.matchAll(WRAPPED)) {
    for (const ch of text.slice(cursor, m.index)) add(ch);
    add(m[1]!);
    cursor = m.index + m[0].length;
  }
  for (const ch of text.slice(cursor)) add(ch);
  // Array.prototype.sort is stable, so equal lengths keep first-occurrence order like Python's sorted.
  return found.sort((a, b) => Array.from(b).length - Array.from(a).length);
}

/** True when the field holds a backtick-wrapped token: RAGFlow then makes every segment its own chunk. */
export function hasCustomDelimiter(delimiter: string): boolean {
  return /`[^`]+`/.test(delimiter);
}

function escapeRegExp(s: string): string {
  // Only syntax characters may be escaped in a 'u' regex.
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/** A regex matching any of the delimiters (longest first), or undefined when there are none. */
export function delimiterRegExp(delimiters: readonly string[]): RegExp | undefined {
  const alternatives = delimiters.filter((d) => d.length > 0).map(escapeRegExp);
  if (alternatives.length === 0) return undefined;
  return new RegExp(alternatives.join('|'), 'gu');
}

/** The text between delimiter matches (delimiters dropped); empty strings removed. */
export function splitOnDelimiters(text: string, delimiters: readonly string[]): string[] {
  const re = delimiterRegExp(delimiters);
  const pieces = re ? text.split(re) : [text];
  return pieces.filter((p) => p.length > 0);
}

export { normalizeNewlines };
