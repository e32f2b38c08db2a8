import type { BatchItem, BatchOutcome } from '@ragline/bus';
import { HEADERS, type DeadLetter, type PipelineEvent } from '@ragline/contracts';
import type { Logger } from '@ragline/telemetry';
import type { ProgressUpdate, TaskDb } from '@ragline/taskdb';
import { indexingProgress } from '../runtime/progress.js';
import type { MonitorMetrics } from './metrics.js';
import type { TaskInfoStore, TaskObservation } from './task-info.js';

export type ProgressDb = Pick<TaskDb, 'applyProgress' | 'recordIndexedBatch' | 'indexedBatchCount' | 'completeTask' | 'syncDocuments'>;

/** how long a completion waits for a batch event still in flight before it is looked at again */
export const COMPLETION_RECHECK_MS = 2000;

/**
 * The one writer of pipeline progress to MySQL: a batch of events becomes one progress transaction,
 * exactly-once batch and completion records, and one document sync, so MySQL load follows the number
 * of batches, not chunks.
 */
export function createProgressWriter(deps: {
  taskdb: ProgressDb;
  logger: Logger;
  /** where trace ids and per-stage timings are kept (optional) */
  info?: Pick<TaskInfoStore, 'record'>;
  metrics?: MonitorMetrics;
}) {
  return async function writeEvents(items: BatchItem<PipelineEvent>[]): Promise<void | BatchOutcome<PipelineEvent>> {
    const updates: ProgressUpdate[] = [];
    const completions: { e: Extract<PipelineEvent, { kind: 'completed' }>; item: BatchItem<PipelineEvent> }[] = [];
    const later: BatchItem<PipelineEvent>[] = [];
    const docs = new Set<string>();
    const seen: TaskObservation[] = [];
    for (const item of items) {
      const { msg: e, headers } = item;
      docs.add(e.doc_id);
      // batch_indexed and completed come from the indexer
      const stage = e.kind === 'progress' ? e.stage : 'indexer';
      seen.push({ taskId: e.task_id, stage, at: e.at, traceparent: headers[HEADERS.traceparent]?.[0] });
      deps.metrics?.events.inc({ kind: e.kind, stage });
      if (e.kind === 'progress') {
        updates.push({ taskId: e.task_id, progress: e.progress, msg: `${e.msg}`, pageRange: e.page_range, at: new Date(e.at) });
      } else if (e.kind === 'batch_indexed') {
        await deps.taskdb.recordIndexedBatch(e.task_id, e.batch_no, e.chunk_ids, e.tokens);
        const p = indexingProgress(e.indexed_batches, e.total_batches);
        if (p !== null) updates.push({ taskId: e.task_id, progress: p, at: new Date(e.at) });
      } else {
        completions.push({ e, item });
      }
    }
    if (updates.length) await deps.taskdb.applyProgress(updates);
    for (const { e: c, item } of completions) {
      // The completion may overtake a batch event whose first delivery failed (it comes back after a
      // delay): completing then would freeze task.chunk_ids without that batch. Hold the completion
      // until every batch is recorded; on its last delivery complete anyway (the counts come from
      // the completion's own totals, so document and knowledge-base numbers stay exact).
      if (!item.lastAttempt && (await deps.taskdb.indexedBatchCount(c.task_id)) < c.batches) {
        deps.logger.info({ task_id: c.task_id, batches: c.batches }, 'completion waits for batch events still in flight');
        later.push(item);
        continue;
      }
      const secs = (c.duration_ms / 1000).toFixed(2);
      const first = await deps.taskdb.completeTask(c.task_id, {
        chunks: c.chunks,
        tokens: c.tokens,
        durationMs: c.duration_ms,
        msg: `Indexing done: ${c.chunks} chunks, ${c.tokens} tokens. Task done (${secs}s)`,
      });
      if (first) {
        deps.logger.info({ task_id: c.task_id, doc_id: c.doc_id, chunks: c.chunks }, 'task done');
        deps.metrics?.tasksCompleted.inc();
        deps.metrics?.taskDuration.observe(c.duration_ms / 1000);
      }
    }
    await deps.taskdb.syncDocuments([...docs]);
    // after MySQL: an observation failing must not redeliver events already applied
    await deps.info?.record(seen).catch((err: Error) => deps.logger.warn({ err: err.message }, 'recording task observations failed'));
    if (later.length) {
      // 2 s, 4 s, 8 s, 16 s between looks (30 s in all with 5 deliveries): a batch event's own retries back off alike
      const tries = Math.max(...later.map((i) => i.deliveryCount ?? 1));
      return { later, delayMs: COMPLETION_RECHECK_MS * 2 ** (tries - 1) };
    }
  };
}

/** Dead letters fail their task with the stage and the error, as RAGFlow's "[ERROR]" progress lines do. */
export function createDeadLetterHandler(deps: {
  taskdb: Pick<TaskDb, 'applyProgress' | 'syncDocuments'>;
  logger: Logger;
  info?: Pick<TaskInfoStore, 'recordFailure'>;
  metrics?: MonitorMetrics;
}) {
  return async function onDeadLetters(items: BatchItem<DeadLetter>[]): Promise<void> {
    const updates: ProgressUpdate[] = [];
    const docs = new Set<string>();
    const failures: DeadLetter[] = [];
    for (const { msg } of items) {
      if (!msg.task_id) {
        deps.logger.error({ subject: msg.subject, err: msg.error }, 'dead letter without task id');
        continue;
      }
      if (msg.doc_id) docs.add(msg.doc_id);
      updates.push({ taskId: msg.task_id, progress: -1, msg: `${msg.stage} failed: ${msg.error.message}`, at: new Date(msg.at) });
      failures.push(msg);
      deps.logger.warn({ task_id: msg.task_id, stage: msg.stage, err: msg.error }, 'task failed from dead letter');
    }
    if (updates.length) await deps.taskdb.applyProgress(updates);
    if (docs.size) await deps.taskdb.syncDocuments([...docs]);
    for (const f of failures) {
      deps.metrics?.taskFailures.inc({ stage: f.stage, reason: 'dead_letter' });
      await deps.info
        ?.recordFailure(f.task_id!, f.stage, f.error.message, f.headers[HEADERS.traceparent]?.[0])
        .catch((err: Error) => deps.logger.warn({ err: err.message }, 'recording task failure failed'));
    }
  };
}
