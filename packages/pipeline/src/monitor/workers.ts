import { WORKER_SET_KEY, cleanupDeadWorkers } from '@ragline/redis-queue';
import type { Redis } from 'ioredis';

export interface WorkerCleanupOptions {
  /** a worker whose latest heartbeat is older than this is removed; default 120000 (RAGFlow's WORKER_HEARTBEAT_TIMEOUT) */
  timeoutMs?: number;
  /** heartbeats older than this are trimmed from every worker's sorted set; default 1800000 (30 min, RAGFlow) */
  retentionMs?: number;
  /** never removed (the monitor itself) */
  except?: string;
}

export interface WorkerCleanupResult {
  removed: string[];
  trimmed: number;
}

/** ZREMRANGEBYSCORE <worker> 0 <now - retention> for every registered worker; returns how many heartbeats went. */
export async function trimHeartbeats(redis: Redis, retentionMs = 1_800_000): Promise<number> {
  const names = await redis.smembers(WORKER_SET_KEY);
  if (names.length === 0) return 0;
  const cutoff = (Date.now() - retentionMs) / 1000;
  const p = redis.pipeline();
  for (const name of names) p.zremrangebyscore(name, 0, cutoff);
  const replies = (await p.exec()) ?? [];
  // a key of another type under a worker's name (WRONGTYPE) is skipped, not fatal
  return replies.reduce((n, [err, v]) => n + (err ? 0 : Number(v)), 0);
}

/** RAGFlow's cleanup of silent executors plus trimming of old heartbeats; run it under the monitor's lease. */
export async function cleanupWorkers(redis: Redis, opts: WorkerCleanupOptions = {}): Promise<WorkerCleanupResult> {
  const removed = await cleanupDeadWorkers(redis, { timeoutMs: opts.timeoutMs ?? 120_000, except: opts.except });
  const trimmed = await trimHeartbeats(redis, opts.retentionMs ?? 1_800_000);
  return { removed, trimmed };
}
