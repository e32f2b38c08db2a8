import { dataPaths, type CommonEnv } from '@ragline/config';
import { createElasticDocStore, createLanceDocStore, type DocStore, type DocStoreSettings, type DocStoreWriterSettings } from '@ragline/docstore';

/**
 * The doc store settings docStoreFromConfig reads: which store (DocStoreSettings) and, when the
 * caller composes them (the indexer), how it writes (DocStoreWriterSettings); without those the
 * stores' own defaults apply.
 */
export type DocStoreEnv = Pick<CommonEnv, 'RAGLINE_DATA_DIR'> & DocStoreSettings & Partial<DocStoreWriterSettings>;

/**
 * Elasticsearch in RAGFlow's schema when ELASTICSEARCH_URL is set (ES_USERNAME / ES_PASSWORD for basic
 * auth), else the embedded LanceDB store under RAGLINE_DATA_DIR/docstore.
 */
export function docStoreFromConfig(cfg: DocStoreEnv): DocStore {
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
