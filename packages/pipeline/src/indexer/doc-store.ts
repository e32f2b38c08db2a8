import { dataPaths, type CommonEnv } from '@ragline/config';
import { createElasticDocStore, createLanceDocStore, type DocStore } from '@ragline/docstore';

/** Doc store settings beyond CommonEnv that the indexer app reads (DOC_BULK_SIZE as RAGFlow's, tunable). */
export interface DocStoreEnv {
  /** documents per Elasticsearch bulk request; default 32 (RAGFlow's code default; its Docker .env sets 4) */
  DOC_BULK_SIZE?: number;
  /** bytes per Elasticsearch bulk request body; default 8 MiB */
  DOC_BULK_MAX_BYTES?: number;
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
  return createLanceDocStore({ dir: dataPaths(cfg).docstore });
}
