import { CommonEnv, MonitorAddressSettings, loadConfig, secretValues, z } from '@ragline/config';
import { DocStoreSettings } from '@ragline/docstore';
import { EmbeddingSettings } from '@ragline/embedding';
import { RagTokenizerResourceSettings } from '@ragline/parsing';
import { configureTokenizer, defaultEmbdId, embeddingSecrets, objectStoreFromConfig } from '@ragline/pipeline';
import { RagflowQueueProducer, RagflowQueueSettings, createRedis } from '@ragline/redis-queue';
import { StorageSettings, type ObjectStore } from '@ragline/storage';
import { createTaskDb, type TaskDb } from '@ragline/taskdb';
import { redactSecrets } from '@ragline/telemetry';
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
export function loadCliConfig(source?: Record<string, string | undefined>): CliEnv {
  const cfg = loadConfig(CliEnv, source);
  configureTokenizer(cfg);
  // API keys inside EMBEDDING_BACKENDS have no secret-looking setting name: collect them by hand
  cliSecrets.splice(0, cliSecrets.length, ...secretValues(cfg as unknown as Record<string, unknown>), ...embeddingSecrets(cfg));
  return cfg;
}

const cliSecrets: string[] = [];

/** Text for the terminal (errors, failures) without the loaded configuration's secrets or URL passwords. */
export function redactForTerminal(text: string): string {
  return redactSecrets(text, cliSecrets);
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
