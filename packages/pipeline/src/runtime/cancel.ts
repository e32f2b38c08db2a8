import type { Redis } from 'ioredis';

/**
 * Checks RAGFlow's cancel flag (`{task_id}-cancel`) with a short cache, so every stage can check
 * before each unit of work without a Redis round trip per chunk batch.
 */
export function cancelChecker(redis: Redis, ttlMs = 1000) {
  const cache = new Map<string, { value: boolean; at: number }>();
  return async function isCancelled(taskId: string): Promise<boolean> {
    const hit = cache.get(taskId);
    if (hit && Date.now() - hit.at < ttlMs) return hit.value;
    const value = Boolean(await redis.get(`${taskId}-cancel`));
    if (cache.size > 10_000) cache.clear();
    cache.set(taskId, { value, at: Date.now() });
    return value;
  };
}
export type CancelCheck = ReturnType<typeof cancelChecker>;
