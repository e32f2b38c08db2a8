/**
 * The only place that touches @ragline/tokenizer (tiktoken cl100k_base, as RAGFlow).
 * Loaded lazily: the BPE ranks cost time and memory, and callers that inject their own
 * counting (tests, other tokenizers) never pay for them.
 */
export interface Tokenizer {
  countTokens(text: string): number;
  truncateTokens(text: string, max: number): string;
}

let loading: Promise<Tokenizer> | undefined;

export function defaultTokenizer(): Promise<Tokenizer> {
  loading ??= import('@ragline/tokenizer').then(
    (m): Tokenizer => ({ countTokens: m.countTokens, truncateTokens: m.truncateTokens }),
    (err: unknown) => {
      loading = undefined;
      throw err;
    },
  );
  return loading;
}

/** Injected functions win; the default tokenizer fills the gaps. */
export async function resolveTokenizer(injected: Partial<Tokenizer> = {}): Promise<Tokenizer> {
  if (injected.countTokens && injected.truncateTokens) {
    return { countTokens: injected.countTokens, truncateTokens: injected.truncateTokens };
  }
  const d = await defaultTokenizer();
  return { countTokens: injected.countTokens ?? d.countTokens, truncateTokens: injected.truncateTokens ?? d.truncateTokens };
}

/**
 * Whether `text` is certainly within `max` tokens without tokenizing it: every BPE token covers at
 * least one UTF-8 byte, so a text of at most `max` bytes has at most `max` tokens. A UTF-16 code
 * unit is at most 3 UTF-8 bytes, so most chunks are settled by their length alone. Tokenizing is
 * the embedder's largest CPU cost per chunk, and chunks are almost always far below the model's limit.
 */
export function fitsInTokens(text: string, max: number): boolean {
  if (text.length * 3 <= max) return true;
  return text.length <= max && Buffer.byteLength(text, 'utf8') <= max;
}

export async function sumTokens(texts: readonly string[], countTokens?: (s: string) => number): Promise<number> {
  const count = countTokens ?? (await defaultTokenizer()).countTokens;
  let total = 0;
  for (const t of texts) total += count(t);
  return total;
}
