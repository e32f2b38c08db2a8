import { dataPaths, type CommonEnv } from '@ragline/config';
import { createLanceDocStore, type DocStore } from '@ragline/docstore';
import { createHashingBackend, createOpenAICompatibleBackend, type EmbeddingBackend } from '@ragline/embedding';
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

/** The embedded LanceDB store unless ELASTICSEARCH_URL is set (the Elasticsearch adapter arrives with the indexer issue). */
export function docStoreFromConfig(cfg: CommonEnv): DocStore {
  if (cfg.ELASTICSEARCH_URL) {
    throw new Error('ELASTICSEARCH_URL is set but this build has no Elasticsearch adapter yet; unset it to use the embedded store');
  }
  return createLanceDocStore({ dir: dataPaths(cfg).docstore });
}

/** An OpenAI-compatible server when EMBEDDING_URL is set, else the deterministic hashing embedder. */
export function embeddingBackendFromConfig(cfg: CommonEnv & { EMBEDDING_TIMEOUT_MS?: number }): EmbeddingBackend {
  if (!cfg.EMBEDDING_URL) return createHashingBackend({ dim: cfg.EMBEDDING_DIM });
  return createOpenAICompatibleBackend({
    url: cfg.EMBEDDING_URL,
    model: cfg.EMBEDDING_MODEL ?? '',
    apiKey: cfg.EMBEDDING_API_KEY,
    timeoutMs: cfg.EMBEDDING_TIMEOUT_MS,
  });
}
