import type { JetStreamManager } from '@ragline/bus';
import { RAGFLOW, type TopologyNames } from '@ragline/contracts';
import { RagflowQueueProducer } from '@ragline/redis-queue';
import type { Logger } from '@ragline/telemetry';
import { RunStatus, type TaskDb, type TaskSummary } from '@ragline/taskdb';
import type { Redis } from 'ioredis';
import { heldTasks, queueIndexForPriority, type ScanLimits } from './holders.js';

export interface RecoveryDeps {
  taskdb: Pick<TaskDb, 'unfinishedTasks' | 'applyProgress' | 'getDocument' | 'syncDocuments'>;
  redis: Redis;
  jsm: JetStreamManager;
  names: TopologyNames;
  /** RAGFlow streams, highest priority first (a task goes back to the stream of its priority) */
  queues: readonly string[];
  logger: Logger;
}

export interface RecoveryOptions extends ScanLimits {
  /** only tasks whose last write (task.update_time) is at least this old; e.g. STUCK_TASK_MS */
  olderThanMs: number;
  /** most candidate tasks per pass; default 1000 */
  limit?: number;
  /**
   * A task already delivered this many times (task.retry_count) is failed instead of re-enqueued;
   * default 3 (RAGFlow gives up after 3 attempts). null: always re-enqueue and let the bridge apply
   * RAGFlow's own limit (what `ragline recover` does).
   */
  maxRetries?: number | null;
  /** who re-enqueues, for the progress line; default 'the monitor' */
  actor?: string;
  /** report what would happen without writing anything */
  dryRun?: boolean;
}

export interface RecoveredTask {
  id: string;
  doc_id: string;
  retry_count: number;
  /** the stream it was re-enqueued to */
  stream?: string;
}

export interface RecoveryResult {
  /** unfinished tasks old enough to look at */
  candidates: number;
  /** of those, held by a queue or a work stream (left alone) */
  held: number;
  requeued: RecoveredTask[];
  failed: RecoveredTask[];
  /** tasks of cancelled documents or with a cancel flag */
  cancelled: string[];
  /** false when the scan could not see every queue entry / stream message: nothing was touched */
  complete: boolean;
}

/** "1h 5m", "30m", "45s": for progress lines. */
export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return s % 60 ? `${m}m ${s % 60}s` : `${m}m`;
  const h = Math.floor(m / 60);
  return m % 60 ? `${h}h ${m % 60}m` : `${h}h`;
}

/** The queue message RAGFlow's queue_tasks writes for a task (only `id` is authoritative for the bridge). */
function queueMessage(t: TaskSummary): Record<string, unknown> {
  const msg: Record<string, unknown> = {
    id: t.id,
    doc_id: t.doc_id,
    progress: 0,
    from_page: t.from_page,
    to_page: t.to_page,
    digest: t.digest,
    priority: t.priority,
    create_time: t.create_time,
    create_date: t.create_date,
  };
  if (t.task_type) msg.task_type = t.task_type;
  return msg;
}

/**
 * Re-enqueues to RAGFlow's queue every unfinished task that has had no progress for `olderThanMs`
 * and that no stage holds (holders.ts: not unread or pending in a queue stream, no message in a
 * JetStream work stream). Used by the monitor's stuck-task pass and by `ragline recover` (after a
 * Redis restart lost the queue). Tasks that were delivered `maxRetries` times are failed instead.
 */
export async function recoverUnheldTasks(deps: RecoveryDeps, opts: RecoveryOptions): Promise<RecoveryResult> {
  const result: RecoveryResult = { candidates: 0, held: 0, requeued: [], failed: [], cancelled: [], complete: true };
  const candidates = await deps.taskdb.unfinishedTasks(opts.olderThanMs, opts.limit ?? 1000);
  result.candidates = candidates.length;
  if (!candidates.length || !deps.queues.length) return result;

  const held = await heldTasks(deps, opts);
  if (!held.complete) {
    // a backlog too large to scan: we cannot prove any task is lost, so touch none
    deps.logger.warn({ candidates: candidates.length }, 'stuck-task scan incomplete (backlog over the scan limit); nothing re-enqueued');
    return { ...result, held: candidates.length, complete: false };
  }
  const maxRetries = opts.maxRetries === undefined ? RAGFLOW.maxRetries : opts.maxRetries;
  const actor = opts.actor ?? 'the monitor';
  const producer = new RagflowQueueProducer(deps.redis);
  const docRun = new Map<string, string | null>();
  const failedDocs = new Set<string>();
  const idle = formatDuration(opts.olderThanMs);

  for (const t of candidates) {
    if (held.ids.has(t.id)) {
      result.held++;
      continue;
    }
    if (!docRun.has(t.doc_id)) docRun.set(t.doc_id, (await deps.taskdb.getDocument(t.doc_id))?.run ?? null);
    if (docRun.get(t.doc_id) === RunStatus.CANCEL || (await deps.redis.get(RAGFLOW.cancelKey(t.id)))) {
      result.cancelled.push(t.id);
      continue;
    }
    const ref: RecoveredTask = { id: t.id, doc_id: t.doc_id, retry_count: t.retry_count };
    if (maxRetries !== null && t.retry_count >= maxRetries) {
      if (!opts.dryRun) {
        await deps.taskdb.applyProgress([
          {
            taskId: t.id,
            progress: -1,
            msg: `Task is stuck: no progress for over ${idle} and no stage holds it; given up after ${t.retry_count} attempts.`,
          },
        ]);
        failedDocs.add(t.doc_id);
      }
      result.failed.push(ref);
      deps.logger.warn({ task_id: t.id, doc_id: t.doc_id, retry_count: t.retry_count }, 'stuck task failed: retries used up');
      continue;
    }
    const stream = deps.queues[queueIndexForPriority(deps.queues, t.priority)]!;
    ref.stream = stream;
    if (!opts.dryRun) {
      // the line first: it also moves update_time, so the next pass waits a full period for this attempt
      const attempt = maxRetries === null ? '' : ` (attempt ${t.retry_count + 1} of ${maxRetries})`;
      await deps.taskdb.applyProgress([
        { taskId: t.id, msg: `Re-queued by ${actor}: no progress for over ${idle} and no stage held the task${attempt}.` },
      ]);
      await producer.enqueue(stream, queueMessage(t));
    }
    result.requeued.push(ref);
    deps.logger.info({ task_id: t.id, doc_id: t.doc_id, stream, retry_count: t.retry_count }, 'task re-enqueued: no stage held it');
  }
  if (failedDocs.size) await deps.taskdb.syncDocuments([...failedDocs]);
  return result;
}
