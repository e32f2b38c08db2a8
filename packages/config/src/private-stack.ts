import { CommonEnv, loadConfig } from './schema.js';

export interface PrivateStack {
  /** settings for every app of the stack (and for the caller's own clients) */
  env: Record<string, string>;
  /** the two RAGFlow queues the bridge reads, high priority first */
  queues: [string, string];
}

/**
 * A stack of the five apps in its own corner of shared NATS, Redis and MySQL servers, as tests and
 * benchmarks run them side by side: stream and subject prefixes, Redis key prefix, queue names,
 * database and data dir all carry `tag` and `id`, so no two stacks see each other's work. Heartbeats
 * and the bridge's blocking read are short so a run notices changes within a second. Without an
 * EMBEDDING_URL the stack embeds with hashing, not the local model: the suites and benches count on its
 * speed and exact vectors (a caller's env may still set EMBEDDING_LOCAL_KIND=local).
 */
export function privateStack(opts: { tag: string; id: string; dataDir: string; natsUrl?: string; redisDb?: number; logLevel?: string }): PrivateStack {
  const { tag, id } = opts;
  const database = `ragline_${tag}_${id}`;
  const queues: [string, string] = [`${tag}.${id}.1`, `${tag}.${id}.0`];
  const env = {
    NATS_URL: opts.natsUrl ?? 'nats://127.0.0.1:4222',
    REDIS_URL: `redis://127.0.0.1:6379/${opts.redisDb ?? 1}`,
    REDIS_KEY_PREFIX: `${tag}:${id}:`,
    MYSQL_URL: `mysql://root@127.0.0.1:3306/${database}`,
    RAGLINE_SUBJECT_PREFIX: `${tag}${id}`,
    RAGLINE_STREAM_PREFIX: `${tag}${id}`.toUpperCase(),
    RAGFLOW_QUEUES: queues.join(','),
    RAGLINE_DATA_DIR: opts.dataDir,
    MONITOR_PORT: '0',
    HEARTBEAT_INTERVAL_MS: '1000',
    BRIDGE_BLOCK_MS: '200',
    SHUTDOWN_GRACE_MS: '5000',
    LOG_LEVEL: opts.logLevel ?? 'info',
    EMBEDDING_LOCAL_KIND: 'hashing',
  };
  // the same checks the apps make at start, so a bad tag fails here and not in five child processes
  loadConfig(CommonEnv, env);
  return { env, queues };
}
