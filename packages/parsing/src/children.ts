/**
 * Parent/child chunks, as RAGFlow's naive method makes them when `parser_config.children_delimiter`
 * is set (rag/app/naive.py chunk(), rag/nlp split_with_pattern, task_executor insert_chunks):
 *
 * - the delimiter string is unicode-escape decoded; backquoted parts are custom delimiters
 *   (regex-escaped, longest first, joined with "|"); every other character is one alternative,
 *   joined with "|" *unescaped*; the custom alternatives are appended without a separating "|".
 *   A pattern that does not compile leaves the chunk whole (one child).
 * - each merged chunk is split on `(pattern)`; a child is a piece plus the delimiter after it,
 *   empty pieces dropped. The child carries `mom_with_weight` = the chunk text without one leading
 *   "\n", and the chunk's positions.
 * - `mom_id` = xxh64(mom text) (no doc id); one parent record per distinct mom text, with
 *   `available_int` 0 and only id, content_with_weight, doc_id, docnm_kwd, kb_id, position_int,
 *   create_timestamp_flt, page_num_int, top_int, copied from its first child.
 */
import { xxh64Hex } from './hash.js';

const PY_SPECIAL = new Set('()[]{}?*+-|^$\\.&~# \t\n\r\v\f');

/** Python's re.escape (3.7+). */
function pyEscape(s: string): string {
  let out = '';
  for (const ch of s) out += PY_SPECIAL.has(ch) ? '\\' + ch : ch;
  return out;
}

/**
 * Python's `s.encode("utf-8").decode("unicode_escape").encode("latin1").decode("utf-8")`.
 * Throws where Python would (an escape above U+00FF, bytes that are not UTF-8).
 */
export function unicodeEscapeRoundTrip(s: string): string {
  const src = new TextEncoder().encode(s);
  const out: number[] = [];
  const hex = (from: number, n: number): number => {
    const t = String.fromCharCode(...src.slice(from, from + n));
    if (t.length !== n || !/^[0-9a-fA-F]+$/.test(t)) throw new Error(`children_delimiter: truncated \\x/\\u escape`);
    return parseInt(t, 16);
  };
  const byte = (v: number): void => {
    if (v > 0xff) throw new Error(`children_delimiter: escape U+${v.toString(16)} is not latin-1`);
    out.push(v);
  };
  const simple: Record<string, number> = { n: 10, t: 9, r: 13, '\\': 92, "'": 39, '"': 34, a: 7, b: 8, f: 12, v: 11 };
  for (let i = 0; i < src.length; i++) {
    const b = src[i]!;
    if (b !== 0x5c || i + 1 >= src.length) {
      if (b === 0x5c) throw new Error('children_delimiter: \\ at end of string');
      out.push(b);
      continue;
    }
    const c = String.fromCharCode(src[i + 1]!);
    i++;
    if (c in simple) byte(simple[c]!);
    else if (c === '\n') continue;
    else if (c === 'x') (byte(hex(i + 1, 2)), (i += 2));
    else if (c === 'u') (byte(hex(i + 1, 4)), (i += 4));
    else if (c === 'U') (byte(hex(i + 1, 8)), (i += 8));
    else if (c >= '0' && c <= '7') {
      let v = 0;
      let n = 0;
      while (n < 3 && i < src.length && src[i]! >= 0x30 && src[i]! <= 0x37) (v = v * 8 + (src[i]! - 0x30), i++, n++);
      i--;
      byte(v);
    } else if (c === 'N') throw new Error('children_delimiter: \\N{...} escapes are not supported');
    else (out.push(0x5c), out.push(src[i]!));
  }
  return new TextDecoder('utf-8', { fatal: true }).decode(new Uint8Array(out));
}

/** RAGFlow's child delimiter pattern (Python regex source) for a `children_delimiter` value; "" = no children. */
export function childDelimiterPattern(childrenDelimiter: unknown): string {
  if (typeof childrenDelimiter !== 'string' || childrenDelimiter.length === 0) return '';
  const deli = unicodeEscapeRoundTrip(childrenDelimiter);
  const custom = [...deli.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
  let pattern = [...deli.replace(/`([^`]+)`/g, '')].join('|');
  if (custom.length > 0) {
    // Python's sorted(set(...), key=-len): stable on the set's order, which for equal lengths is
    // hash order in CPython; first occurrence order is used here.
    const uniq = [...new Set(custom)].sort((a, b) => b.length - a.length);
    pattern += uniq.map(pyEscape).join('|');
  }
  return pattern;
}

function compile(pattern: string, suffix: string, flags: string): RegExp | undefined {
  try {
    return new RegExp(`(${pattern})${suffix}`, flags);
  } catch {
    return undefined;
  }
}

/** Python's `re.split("(" + pattern + ")", text, flags=re.DOTALL)`, groups included; undefined when it does not compile. */
function pySplit(pattern: string, text: string): string[] | undefined {
  const re = compile(pattern, '', 'sg');
  if (!re) return undefined;
  const parts: string[] = [];
  let last = 0;
  let start = 0;
  let mustAdvance = false;
  while (start <= text.length) {
    let m: RegExpExecArray | null = null;
    if (mustAdvance) {
      // CPython refuses an empty match where the previous (empty) match ended, then searches on.
      const nonEmpty = compile(pattern, `(?<=^[\\s\\S]{${start + 1},})`, 'sy')!;
      nonEmpty.lastIndex = start;
      m = nonEmpty.exec(text);
      if (!m) {
        const next = start + (text.codePointAt(start)! > 0xffff ? 2 : 1);
        if (next > text.length) break;
        re.lastIndex = next;
        m = re.exec(text);
      }
    } else {
      re.lastIndex = start;
      m = re.exec(text);
    }
    if (!m) break;
    const end = m.index + m[0].length;
    parts.push(text.slice(last, m.index), ...m.slice(1).map((g) => g ?? ''));
    mustAdvance = end === m.index;
    last = start = end;
  }
  parts.push(text.slice(last));
  return parts;
}

/** RAGFlow's split_with_pattern: the child texts of one chunk (the whole text when the pattern does not compile). */
export function splitChildren(text: string, pattern: string): string[] {
  const parts = pySplit(pattern, text);
  if (!parts) return [text];
  const out: string[] = [];
  for (let j = 0; j < parts.length; j += 2) {
    let t = parts[j]!;
    if (!t) continue;
    if (j + 1 < parts.length) t += parts[j + 1]!;
    out.push(t);
  }
  return out;
}

/** The parent text a child carries (`mom_with_weight`): the chunk text without one leading "\n". */
export function momText(chunkText: string): string {
  return chunkText.startsWith('\n') ? chunkText.slice(1) : chunkText;
}

/** A parent's id: xxh64 of its text, without the doc id (RAGFlow insert_chunks). Requires `initHashing()`. */
export function momId(mom: string): string {
  return xxh64Hex(mom);
}

const PARENT_FIELDS = ['id', 'content_with_weight', 'doc_id', 'docnm_kwd', 'kb_id', 'available_int', 'position_int', 'create_timestamp_flt', 'page_num_int', 'top_int'];

/**
 * RAGFlow insert_chunks' mothers: sets `mom_id` on every child with `mom_with_weight` and returns
 * one parent record per distinct mom text (first child's fields, `available_int` 0).
 */
export function parentRecords<T extends Record<string, unknown>>(children: T[]): Record<string, unknown>[] {
  const seen = new Set<string>();
  const parents: Record<string, unknown>[] = [];
  for (const ck of children) {
    const mom = (ck['mom'] || ck['mom_with_weight'] || '') as string;
    if (!mom) continue;
    const id = momId(mom);
    (ck as Record<string, unknown>)['mom_id'] = id;
    if (seen.has(id)) continue;
    seen.add(id);
    const rec: Record<string, unknown> = { ...structuredClone(ck), id, content_with_weight: mom, available_int: 0 };
    for (const k of Object.keys(rec)) if (!PARENT_FIELDS.includes(k)) delete rec[k];
    parents.push(rec);
  }
  return parents;
}
