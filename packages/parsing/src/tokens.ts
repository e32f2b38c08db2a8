import { Tiktoken } from 'js-tiktoken/lite';
import cl100k_base from 'js-tiktoken/ranks/cl100k_base';

// Building the BPE tables takes ~100 ms and a few MB, so only on first use.
let encoder: Tiktoken | undefined;
function getEncoder(): Tiktoken {
  encoder ??= new Tiktoken(cl100k_base);
  return encoder;
}

function encode(text: string): number[] {
  // Special-token text such as "<|endoftext|>" is counted as ordinary text. (RAGFlow's
  // tiktoken call raises on it and reports 0 tokens, which would hide whole chunks from limits.)
  return getEncoder().encode(text, [], []);
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
