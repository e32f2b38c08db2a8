import { env, z, type Settings } from '@ragline/config';

/**
 * Which doc store: Elasticsearch in RAGFlow's schema when ELASTICSEARCH_URL is set, else the embedded
 * LanceDB store under RAGLINE_DATA_DIR/docstore. Read by the indexer (writes) and the CLI (search).
 */
export const DocStoreSettings = {
  ELASTICSEARCH_URL: env
    .optional(env.url(['http', 'https']))
    .describe(
      "Elasticsearch instead of the embedded store, in RAGFlow's schema: index `ragflow_<tenant_id>` created with RAGFlow's mapping (other vector sizes than 512/768/1024/1536 get an explicit `q_<dim>_vec` dense_vector), refreshed before a task is reported done; `ragline search` reads the same store (`es.hosts` in `service_conf.yaml`)",
    ),
  ES_USERNAME: env.optional(z.string()).describe('Elasticsearch basic-auth user (`es.username`)'),
  ES_PASSWORD: env.optional(z.string()).describe('Elasticsearch basic-auth password (`es.password`)'),
};
export type DocStoreSettings = Settings<typeof DocStoreSettings>;

/**
 * How the indexer writes: Elasticsearch bulk sizes, and the embedded store's caches, small because the
 * indexer only writes (search runs in other processes with the library's larger defaults).
 */
export const DocStoreWriterSettings = {
  DOC_BULK_SIZE: env
    .int(1, 10_000)
    .default(32)
    .describe(
      "documents per Elasticsearch bulk request (RAGFlow's `DOC_BULK_SIZE`, code default 32; its Docker `.env` sets 4); whole requests and items answered 429/502/503/504 or lost connections are retried with back-off (5 attempts), other item failures fail the task with Elasticsearch's reason",
    ),
  DOC_BULK_MAX_BYTES: env
    .int(1024, 100 * 1024 * 1024)
    .default(8 * 1024 * 1024)
    .describe("bytes per Elasticsearch bulk request body, under the cluster's `http.max_content_length`"),
  LANCEDB_INDEX_CACHE_MB: env
    .int(1, 65_536)
    .default(32)
    .describe('embedded store only: MiB of index data LanceDB may keep in memory (the indexer only writes; `ragline search` opens the store with 256)'),
  LANCEDB_METADATA_CACHE_MB: env
    .int(1, 65_536)
    .default(16)
    .describe('embedded store only: MiB of file metadata LanceDB may keep in memory (`ragline search`: 64)'),
};
export type DocStoreWriterSettings = Settings<typeof DocStoreWriterSettings>;
