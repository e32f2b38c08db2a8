import { Tiktoken } from 'js-tiktoken/lite';
import cl100k_base from 'js-tiktoken/ranks/cl100k_base';

// Building the BPE tables takes ~100 ms and a few MB, so only on first use.
let encoder: Tiktoken | undefined;
function getEncoder(): Tiktoken {
  encoder ??= new Tiktoken(cl100k_base);
  return encoder;
}

/**
 * js-tiktoken's BPE is quadratic in the length of one pre-tokenized piece: a 50,000-character run
 * without whitespace (a base64 image in Markdown, minified code) takes minutes. Runs of
 * non-whitespace longer than this are encoded in windows of at most this many characters, which
 * keeps the cost linear; counts stay exact for ordinary text and are within a few percent for
 * such runs.
 */
export const MAX_ENCODED_RUN = 128;
const LONG_RUN = new RegExp(`\\S{${MAX_ENCODED_RUN + 1},}`, 'gu');
const WORD_CHAR = /[\p{L}\p{N}]/u;

function encodePlain(text: string, out: number[]): void {
  if (!text) return;
  // Special-token text such as "<|endoftext|>" is encoded as ordinary text. (RAGFlow's tiktoken
  // call raises on it and reports 0 tokens, which would hide whole chunks from size limits.)
  for (const t of getEncoder().encode(text, [], [])) out.push(t);
}

/** Cut points for a long run: prefer a place where a word ends and punctuation starts, as BPE would. */
function encodeLongRun(run: string, out: number[]): void {
  let start = 0;
  while (run.length - start > MAX_ENCODED_RUN) {
    let cut = start + MAX_ENCODED_RUN;
    for (let i = cut; i > start + MAX_ENCODED_RUN / 2; i--) {
      if (!WORD_CHAR.test(run[i]!) && WORD_CHAR.test(run[i - 1]!)) {
        cut = i;
        break;
      }
    }
    const code = run.charCodeAt(cut - 1);
    if (code >= 0xd800 && code <= 0xdbff) cut--; // never split a surrogate pair
    encodePlain(run.slice(start, cut), out);
    start = cut;
  }
  encodePlain(run.slice(start), out);
}

function encode(text: string): number[] {
  const out: number[] = [];
  let last = 0;
  for (const m of text.matchAll(LONG_RUN)) {
    // A single space before a word belongs to its first token (" word"), so it goes with the run.
    const start = m.index > last && text[m.index - 1] === ' ' ? m.index - 1 : m.index;
    encodePlain(text.slice(last, start), out);
    encodeLongRun(text.slice(start, m.index + m[0].length), out);
    last = m.index + m[0].length;
  }
  encodePlain(text.slice(last), out);
  return out;
}

/** cl100k_base token count, as RAGFlow's `num_tokens_from_string`. */
export function countTokens(text: string): number {
  if (!text) return 0;
  return encode(text).length;
}

/** The text of the first `maxTokens` tokens (RAGFlow's `truncate`). */
export function truncateTokens(text: string, maxTokens: number): string {
  if (maxTokens <= 0 || !text) return '';
  const tokens = encode(text);
  if (tokens.length <= maxTokens) return text;
  return getEncoder().decode(tokens.slice(0, maxTokens));
}
