import { CommonEnv, env, loadConfig } from '@ragline/config';

export const EmbedderEnv = CommonEnv.extend({
  EMBEDDER_CONCURRENCY: env.int(1, 256).default(4),
  /** texts per model call, RAGFlow's EMBEDDING_BATCH_SIZE */
  EMBEDDING_BATCH_SIZE: env.int(1, 2048).default(16),
  EMBEDDING_CALL_CONCURRENCY: env.int(1, 64).default(4),
  EMBEDDING_TIMEOUT_MS: env.int(100).default(60_000),
});
export const loadEnv = () => loadConfig(EmbedderEnv);
