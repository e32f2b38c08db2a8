import type { Redis } from 'ioredis';
import { toQueueError } from './errors.js';

/** RAGFlow's cancel flag key for a task. */
export const cancelKey = (taskId: string): string => `${taskId}-cancel`;

/** RAGFlow's `has_canceled`: GET "<task_id>-cancel" is truthy (any non-empty value). */
export async function isCancelled(redis: Redis, taskId: string): Promise<boolean> {
  try {
    const value = await redis.get(cancelKey(taskId));
    return value !== null && value !== '';
  } catch (err) {
    throw toQueueError(err, `reading cancel flag of task ${taskId}`);
  }
}

/** RAGFlow's `cancel_all_task_of` per task: SET "<task_id>-cancel" "x" EX ttlSeconds (default 3600). */
export async function cancelTask(redis: Redis, taskId: string, ttlSeconds = 3600): Promise<void> {
  try {
    await redis.set(cancelKey(taskId), 'x', 'EX', ttlSeconds);
  } catch (err) {
    throw toQueueError(err, `setting cancel flag of task ${taskId}`);
  }
}
