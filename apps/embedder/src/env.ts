import { CommonEnv, env, loadConfig, z } from '@ragline/config';
import { EmbeddingEnvShape, parseBackends } from '@ragline/pipeline/embedder';

// shared with the CLI's search, which embeds queries with the same per-embd_id backends
export { defaultBackendSpec, parseBackends } from '@ragline/pipeline/embedder';

export const EmbedderEnv = CommonEnv.extend({
  /** chunk batches handled at once per replica; their texts merge into shared model calls */
  EMBEDDER_CONCURRENCY: env.int(1, 256).default(16),
  ...EmbeddingEnvShape,
});
export type EmbedderConfig = z.output<typeof EmbedderEnv>;

/** The embedder's config; EMBEDDING_BACKENDS is parsed here so a bad one stops the start. */
export function loadEnv(source?: Record<string, string | undefined>) {
  const cfg = loadConfig(EmbedderEnv, source);
  return { ...cfg, backends: parseBackends(cfg.EMBEDDING_BACKENDS, cfg) };
}
