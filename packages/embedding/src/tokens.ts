/**
 * The only place that touches @ragline/parsing's tokenizer (tiktoken cl100k_base, as RAGFlow).
 * Loaded lazily: the BPE ranks cost time and memory, and callers that inject their own
 * counting (tests, other tokenizers) never pay for them.
 */
export interface Tokenizer {
  countTokens(text: string): number;
  truncateTokens(text: string, max: number): string;
}

let loading: Promise<Tokenizer> | undefined;

export function defaultTokenizer(): Promise<Tokenizer> {
  loading ??= import('@ragline/parsing').then(
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

export async function sumTokens(texts: readonly string[], countTokens?: (s: string) => number): Promise<number> {
  const count = countTokens ?? (await defaultTokenizer()).countTokens;
  let total = 0;
  for (const t of texts) total += count(t);
  return total;
}
