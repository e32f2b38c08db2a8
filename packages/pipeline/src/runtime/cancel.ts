import type { Redis } from 'ioredis';

/**
 * Checks RAGFlow's cancel flag (`{task_id}-cancel`) with a short cache, so every stage can check
 * before each unit of work without a Redis round trip per chunk batch. `ttlMs` 0 asks Redis every time.
 */
export function cancelChecker(redis: Redis, ttlMs = 1000) {
  // in answer order: expired answers are dropped from the front, so it holds about ttlMs of answers
  const cache = new Map<string, { value: boolean; at: number }>();
  return async function isCancelled(taskId: string): Promise<boolean> {
    const now = Date.now();
    const hit = cache.get(taskId);
    if (hit && now - hit.at < ttlMs) return hit.value;
    const value = Boolean(await redis.get(`${taskId}-cancel`));
    if (ttlMs <= 0) return value;
    for (const [id, entry] of cache) {
      if (now - entry.at < ttlMs) break;
      cache.delete(id);
    }
    cache.delete(taskId);
    cache.set(taskId, { value, at: Date.now() });
    return value;
  };
}
export type CancelCheck = ReturnType<typeof cancelChecker>;
