import { CommonEnv, env, loadConfig } from '@ragline/config';

export const IndexerEnv = CommonEnv.extend({
  // the embedded store merges the batches in hand into one commit (group commit): more at once, fewer commits
  INDEXER_CONCURRENCY: env.int(1, 64).default(16),
  /** documents per Elasticsearch bulk request: RAGFlow's DOC_BULK_SIZE (code default 32; its Docker .env sets 4) */
  DOC_BULK_SIZE: env.int(1, 10_000).default(32),
  /** bytes per Elasticsearch bulk request body, under the cluster's http.max_content_length */
  DOC_BULK_MAX_BYTES: env.int(1024, 100 * 1024 * 1024).default(8 * 1024 * 1024),
  /**
   * MiB of index data / file metadata the embedded store keeps in memory. The indexer only writes
   * (search runs in other processes with the library's larger defaults), so small caches serve it.
   */
  LANCEDB_INDEX_CACHE_MB: env.int(1, 65_536).default(32),
  LANCEDB_METADATA_CACHE_MB: env.int(1, 65_536).default(16),
});
export const loadEnv = () => loadConfig(IndexerEnv);
