// Full-text token strings for the `*_ltks` / `*_tks` fields. RAGFlow uses a dictionary-based
// Chinese segmenter plus English stemming; here ICU's word segmentation (Intl.Segmenter, which
// has dictionaries for Chinese, Japanese and Thai) does the splitting. Elasticsearch indexes these
// fields with the whitespace analyzer, so only the space-separated shape matters for retrieval.

const segmenter = new Intl.Segmenter(undefined, { granularity: 'word' });

/** Scripts written without spaces, where long "words" are split into bigrams for fine-grained search. */
const CJK = /^[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}\p{Script=Thai}]+$/u;

/** CJK tokens at least this long are split into overlapping 2-character pieces by `fineGrainedTokenize`. */
export const FINE_GRAINED_CJK_MIN_LENGTH = 3;

/**
 * `content_ltks` form: NFKC-normalised (full-width to half-width), lower-cased word tokens
 * joined by single spaces; punctuation and whitespace are dropped.
 */
export function tokenize(text: string): string {
  if (!text) return '';
  const normalized = text.normalize('NFKC').toLowerCase();
  const words: string[] = [];
  for (const seg of segmenter.segment(normalized)) {
    if (!seg.isWordLike) continue;
    // A word segment never holds whitespace, but guard the whitespace-analyzer contract anyway.
    for (const part of seg.segment.split(/\s+/u)) if (part) words.push(part);
  }
  return words.join(' ');
}

/** Split points inside a non-CJK token: letter/digit boundaries and '-', '_', '.'. */
function splitAlnum(token: string): string[] {
  return token
    .split(/[-_.]+|(?<=\p{L})(?=\p{N})|(?<=\p{N})(?=\p{L})/u)
    .filter((p) => p.length > 0);
}

function cjkBigrams(token: string): string[] {
  const chars = Array.from(token);
  const out: string[] = [];
  for (let i = 0; i + 1 < chars.length; i++) out.push(chars[i]! + chars[i + 1]!);
  return out;
}

/**
 * `content_sm_ltks` form, from a `tokenize` result: long CJK words become overlapping bigrams,
 * other tokens split at letter/digit boundaries and on '-', '_', '.'. Tokens without split
 * points pass through unchanged.
 */
export function fineGrainedTokenize(tokens: string): string {
  const out: string[] = [];
  for (const token of tokens.split(' ')) {
    if (!token) continue;
    if (CJK.test(token)) {
      if (Array.from(token).length >= FINE_GRAINED_CJK_MIN_LENGTH) out.push(...cjkBigrams(token));
      else out.push(token);
      continue;
    }
    const parts = splitAlnum(token);
    out.push(...(parts.length > 0 ? parts : [token]));
  }
  return out.join(' ');
}
