import { dataPaths, type CommonEnv } from '@ragline/config';
import { createElasticDocStore, createLanceDocStore, type DocStore } from '@ragline/docstore';

/** Doc store settings beyond CommonEnv that the indexer app reads (DOC_BULK_SIZE as RAGFlow's, tunable). */
export interface DocStoreEnv {
  /** documents per Elasticsearch bulk request; default 32 (RAGFlow's code default; its Docker .env sets 4) */
  DOC_BULK_SIZE?: number;
  /** bytes per Elasticsearch bulk request body; default 8 MiB */
  DOC_BULK_MAX_BYTES?: number;
  /** MiB of index data the embedded store caches; default the store's (256) */
  LANCEDB_INDEX_CACHE_MB?: number;
  /** MiB of file metadata the embedded store caches; default the store's (64) */
  LANCEDB_METADATA_CACHE_MB?: number;
}

/**
 * Elasticsearch in RAGFlow's schema when ELASTICSEARCH_URL is set (ES_USERNAME / ES_PASSWORD for basic
 * auth), else the embedded LanceDB store under RAGLINE_DATA_DIR/docstore.
 */
export function docStoreFromConfig(cfg: CommonEnv & DocStoreEnv): DocStore {
  if (cfg.ELASTICSEARCH_URL) {
    return createElasticDocStore({
      node: cfg.ELASTICSEARCH_URL,
      username: cfg.ES_USERNAME,
      password: cfg.ES_PASSWORD,
      bulkSize: cfg.DOC_BULK_SIZE,
      bulkMaxBytes: cfg.DOC_BULK_MAX_BYTES,
    });
  }
  const mib = (n: number | undefined) => (n === undefined ? undefined : n * 1024 * 1024);
  return createLanceDocStore({
    dir: dataPaths(cfg).docstore,
    indexCacheBytes: mib(cfg.LANCEDB_INDEX_CACHE_MB),
    metadataCacheBytes: mib(cfg.LANCEDB_METADATA_CACHE_MB),
  });
}
