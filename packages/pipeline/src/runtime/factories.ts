import { dataPaths, type CommonEnv } from '@ragline/config';
import { createElasticDocStore, createLanceDocStore, type DocStore } from '@ragline/docstore';
import { createEmbeddingBackend, createHashingBackend, type EmbeddingBackend } from '@ragline/embedding';
import { createLocalStore, createS3Store, parseS3Endpoint, type ObjectStore } from '@ragline/storage';

/** MinIO/S3 when S3_ENDPOINT is set, else a local folder under RAGLINE_DATA_DIR. */
export function objectStoreFromConfig(cfg: CommonEnv): ObjectStore {
  if (!cfg.S3_ENDPOINT) return createLocalStore({ root: dataPaths(cfg).objects });
  return createS3Store({
    ...parseS3Endpoint(cfg.S3_ENDPOINT),
    accessKey: cfg.S3_ACCESS_KEY ?? '',
    secretKey: cfg.S3_SECRET_KEY ?? '',
    region: cfg.S3_REGION,
    bucket: cfg.S3_BUCKET,
    prefixPath: cfg.S3_PREFIX_PATH,
  });
}

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
