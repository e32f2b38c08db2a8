import { CommonEnv, MonitorAddressSettings, loadConfig, z } from '@ragline/config';
import { DocStoreSettings } from '@ragline/docstore';
import { EmbeddingSettings } from '@ragline/embedding';
import { RagTokenizerResourceSettings } from '@ragline/parsing';
import { configureTokenizer, defaultEmbdId, objectStoreFromConfig } from '@ragline/pipeline';
import { RagflowQueueProducer, RagflowQueueSettings, createRedis } from '@ragline/redis-queue';
import { StorageSettings, type ObjectStore } from '@ragline/storage';
import { createTaskDb, type TaskDb } from '@ragline/taskdb';
import type { Redis } from 'ioredis';

/**
 * The CLI reads what its commands touch: the RAGFlow queues (ingest, status, recover), the monitor's
 * port (`up`), object storage (ingest), the doc store and the embedder's embedding settings (search
 * embeds queries as the embedder embedded the chunks), and the tokenizer resources (search queries).
 */
export const CliEnv = CommonEnv.extend({
  ...RagflowQueueSettings,
  ...MonitorAddressSettings,
  ...StorageSettings,
  ...DocStoreSettings,
  ...EmbeddingSettings,
  ...RagTokenizerResourceSettings,
});
export type CliEnv = z.infer<typeof CliEnv>;

/** The CLI's config; its tokenizer (search queries, ingest's chunks) follows it. */
export function loadCliConfig(): CliEnv {
  const cfg = loadConfig(CliEnv);
  configureTokenizer(cfg);
  return cfg;
}

/** RAGFlow's embd_id form "model@factory", naming the default backend's model (the local one without EMBEDDING_URL). */
export function embdIdFor(cfg: CliEnv): string {
  return defaultEmbdId(cfg);
}

export interface Clients {
  taskdb: TaskDb;
  redis: Redis;
  store: ObjectStore;
  producer: RagflowQueueProducer;
  close(): Promise<void>;
}

/** Connections a CLI command needs; close() releases them all. */
export function openClients(cfg: CliEnv): Clients {
  const taskdb = createTaskDb({ url: cfg.MYSQL_URL });
  const redis = createRedis({ url: cfg.REDIS_URL, keyPrefix: cfg.REDIS_KEY_PREFIX });
  return {
    taskdb,
    redis,
    store: objectStoreFromConfig(cfg),
    producer: new RagflowQueueProducer(redis),
    async close() {
      await taskdb.close();
      redis.disconnect();
    },
  };
}
