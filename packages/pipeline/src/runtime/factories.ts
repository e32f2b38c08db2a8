import type { CommonEnv } from '@ragline/config';
import { createEmbeddingBackend, createHashingBackend, type EmbeddingBackend } from '@ragline/embedding';

/** An OpenAI-compatible server when EMBEDDING_URL is set, else the deterministic hashing embedder. */
export function embeddingBackendFromConfig(
  cfg: CommonEnv & { EMBEDDING_TIMEOUT_MS?: number; EMBEDDING_KIND?: 'openai' | 'tei' | 'ollama' },
): EmbeddingBackend {
  if (!cfg.EMBEDDING_URL) return createHashingBackend({ dim: cfg.EMBEDDING_DIM });
  // the same server kind the embedder uses, so queries are embedded like the chunks were
  return createEmbeddingBackend({
    kind: cfg.EMBEDDING_KIND ?? 'openai',
    url: cfg.EMBEDDING_URL,
    model: cfg.EMBEDDING_MODEL ?? '',
    apiKey: cfg.EMBEDDING_API_KEY,
    timeoutMs: cfg.EMBEDDING_TIMEOUT_MS,
  });
}
