import { PermanentError, RetryableError, isTaskComplete, type DeliveryContext, type Publisher, type TaskState, type TaskStateStore } from '@ragline/bus';
import {
  BatchIndexedEvent,
  TaskCompletedEvent,
  msgIds,
  unpackVector,
  type EmbeddedBatch,
  type IndexMessage,
  type TaskManifest,
  type TaskRef,
  type TopologyNames,
} from '@ragline/contracts';
import type { DocStore, StoredChunk } from '@ragline/docstore';
import { ATTR, taskAttributes, withSpan, type Logger, type Tracer } from '@ragline/telemetry';
import type { CancelCheck } from '../runtime/cancel.js';
import type { ProgressReporter } from '../runtime/progress.js';

export interface IndexStageDeps {
  docstore: DocStore;
  taskState: TaskStateStore;
  publisher: Publisher;
  names: TopologyNames;
  isCancelled: CancelCheck;
  progress: ProgressReporter;
  logger: Logger;
  tracer: Tracer;
}

/**
 * Indexer stage: upsert embedded batches by chunk id, record each batch in the shared task state,
 * and once the parser's manifest and every batch are in, refresh the index and announce completion.
 * Every step is idempotent, so redeliveries in any order converge to one completion.
 */
export function createIndexHandler(deps: IndexStageDeps) {
  const ensured = new Set<string>();

  async function cancel(task: TaskRef): Promise<void> {
    const removed = await deps.docstore.deleteByDoc(task.tenant_id, task.kb_id, task.doc_id);
    await deps.progress.report(task, `Task has been cancelled; removed ${removed} indexed chunks. [Canceled]`, -1, { key: 'cancelled-index' });
    deps.logger.info({ task_id: task.task_id, removed }, 'task cancelled: chunks removed');
  }

  async function maybeComplete(task: TaskRef, state: TaskState): Promise<void> {
    if (!isTaskComplete(state)) return;
    await withSpan(deps.tracer, 'refresh index', {}, () => deps.docstore.refresh(task.tenant_id));
    await deps.publisher.publish(
      deps.names.subjects.completed,
      TaskCompletedEvent,
      {
        v: 1,
        kind: 'completed',
        task_id: task.task_id,
        doc_id: task.doc_id,
        kb_id: task.kb_id,
        at: Date.now(),
        chunks: state.chunks,
        tokens: state.tokens,
        batches: state.batches.length,
        duration_ms: Math.max(0, Date.now() - task.received_at),
      },
      { msgID: msgIds.completed(task.task_id), taskId: task.task_id, docId: task.doc_id },
    );
    if (await deps.taskState.markCompleted(task.task_id)) {
      deps.logger.info({ task_id: task.task_id, chunks: state.chunks, batches: state.batches.length }, 'task complete');
    }
  }

  async function indexBatch(msg: EmbeddedBatch, ctx: DeliveryContext): Promise<void> {
    const task = msg.task;
    const dim = msg.vectors.dim;
    const field = `q_${dim}_vec`;
    const key = `${task.tenant_id}/${dim}`;
    if (!ensured.has(key)) {
      await deps.docstore.ensureIndex(task.tenant_id, dim);
      ensured.add(key);
    }
    const docs = msg.chunks.map((c, i) => ({ ...c, [field]: Array.from(unpackVector(msg.vectors.data[i]!, dim)) }) as StoredChunk);
    const result = await withSpan(deps.tracer, 'bulk upsert', { attributes: { [ATTR.chunkCount]: docs.length } }, () =>
      deps.docstore.upsert(task.tenant_id, docs),
    );
    if (result.errors.length) {
      const first = result.errors[0]!;
      const text = `doc store rejected ${result.errors.length} of ${docs.length} chunks, first ${first.id}: ${first.reason}`;
      if (result.errors.some((e) => !e.retryable)) throw new PermanentError(text);
      throw new RetryableError(text);
    }
    ctx.working();
    const { state } = await deps.taskState.recordBatch(task.task_id, msg.batch_no, msg.chunks.length, msg.tokens);
    await deps.publisher.publish(
      deps.names.subjects.batchIndexed,
      BatchIndexedEvent,
      {
        v: 1,
        kind: 'batch_indexed',
        task_id: task.task_id,
        doc_id: task.doc_id,
        kb_id: task.kb_id,
        at: Date.now(),
        batch_no: msg.batch_no,
        chunk_ids: msg.chunks.map((c) => c.id),
        tokens: msg.tokens,
        indexed_batches: state.batches.length,
        total_batches: state.expectedBatches,
      },
      { msgID: msgIds.batchIndexed(task.task_id, msg.batch_no), taskId: task.task_id, docId: task.doc_id },
    );
    // a write that raced with cancellation is removed again
    if (await deps.isCancelled(task.task_id)) return cancel(task);
    await maybeComplete(task, state);
  }

  async function recordManifest(msg: TaskManifest): Promise<void> {
    const { state } = await deps.taskState.recordManifest(msg.task.task_id, msg.batches, msg.chunks);
    await maybeComplete(msg.task, state);
  }

  return async function handleIndexMessage(msg: IndexMessage, ctx: DeliveryContext): Promise<void> {
    const task = msg.task;
    ctx.span.setAttributes(taskAttributes(task));
    if (await deps.isCancelled(task.task_id)) return cancel(task);
    if (msg.kind === 'manifest') return recordManifest(msg);
    ctx.span.setAttribute(ATTR.batchNo, msg.batch_no);
    return indexBatch(msg, ctx);
  };
}
