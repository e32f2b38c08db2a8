import { CommonEnv, env, loadConfig, z } from '@ragline/config';
import { EmbeddingSettings } from '@ragline/embedding';
import { parseBackends } from '@ragline/pipeline/embedder';

// shared with the CLI's search, which embeds queries with the same per-embd_id backends
export { defaultBackendSpec, parseBackends } from '@ragline/pipeline/embedder';

export const EmbedderEnv = CommonEnv.extend({
  ...EmbeddingSettings,
  EMBEDDER_CONCURRENCY: env.int(1, 256).default(16).describe('chunk batches embedded at once per replica; their texts merge into shared model calls'),
});
export type EmbedderConfig = z.output<typeof EmbedderEnv>;

/** The embedder's config; EMBEDDING_BACKENDS is parsed here so a bad one stops the start. */
export function loadEnv(source?: Record<string, string | undefined>) {
  const cfg = loadConfig(EmbedderEnv, source);
  return { ...cfg, backends: parseBackends(cfg.EMBEDDING_BACKENDS, cfg) };
}
