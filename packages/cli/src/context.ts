import { CommonEnv, env, loadConfig, z } from '@ragline/config';
import { EmbeddingEnvShape, configureTokenizer, defaultEmbdId, objectStoreFromConfig } from '@ragline/pipeline';
import { RagflowQueueProducer, createRedis } from '@ragline/redis-queue';
import type { ObjectStore } from '@ragline/storage';
import { createTaskDb, type TaskDb } from '@ragline/taskdb';
import type { Redis } from 'ioredis';

export const CliEnv = CommonEnv.extend({
  RAGFLOW_QUEUE_NAMING: z.enum(['current', 'legacy']).default('current'),
  RAGFLOW_QUEUES: env.optional(z.string()),
  MONITOR_PORT: env.int(0, 65535).default(8700),
  // the embedder's embedding settings (EMBEDDING_KIND, EMBEDDING_BACKENDS, ...): search embeds queries with them
  ...EmbeddingEnvShape,
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
