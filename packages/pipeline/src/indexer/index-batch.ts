import { PermanentError, RetryableError, isTaskComplete, type DeliveryContext, type Publisher, type TaskState, type TaskStateStore } from '@ragline/bus';
import {
  BatchIndexedEvent,
  TaskCompletedEvent,
  msgIds,
  unpackVector,
  type EmbeddedBatch,
  type IndexMessage,
  type ParentBatch,
  type TaskManifest,
  type TaskRef,
  type TopologyNames,
} from '@ragline/contracts';
import type { DocStore, StoredChunk, UpsertResult } from '@ragline/docstore';
import { ATTR, taskAttributes, withSpan, type Logger, type Tracer } from '@ragline/telemetry';
import type { CancelCheck } from '../runtime/cancel.js';
import type { ProgressReporter } from '../runtime/progress.js';

export interface IndexStageDeps {
  docstore: DocStore;
  taskState: TaskStateStore;
  publisher: Publisher;
  names: TopologyNames;
  /** RAGFlow's `{task_id}-cancel` flag; give it no cache (ttl 0) so a batch arriving after a cancel is never written */
  isCancelled: CancelCheck;
  progress: ProgressReporter;
  logger: Logger;
  tracer: Tracer;
}

/**
 * The shared task state as the indexer keeps it: the bus's fields plus `cancelledAt`, set once by the
 * replica that handled the cancellation. It outlives RAGFlow's cancel flag (which expires after an
 * hour), so a batch of a cancelled task redelivered later is still never written.
 */
export type IndexerTaskState = TaskState & { cancelledAt?: number | null };

/** The failure to report for a bulk's per-item errors: the first permanent one when there is one (RAGFlow fails the task with it). */
export function upsertFailure(errors: UpsertResult['errors'], total: number): PermanentError | RetryableError {
  const permanent = errors.find((e) => !e.retryable);
  const first = permanent ?? errors[0]!;
  const text = `doc store rejected ${errors.length} of ${total} chunks, first ${first.id}: ${first.reason}`;
  return permanent ? new PermanentError(text) : new RetryableError(text);
}

/**
 * Indexer stage: upsert embedded batches by chunk id, record each batch in the shared task state,
 * and once the parser's manifest and every batch are in, refresh the index and announce completion.
 *
 * Exactly once, whatever the order and number of deliveries:
 * - a batch already recorded in the task state is not written again (its chunks are in the store);
 *   its event and the completion check are repeated, which the message ids make harmless; a batch
 *   is recorded only after its event is published, so completion never precedes a batch's event;
 * - a cancel is handled on whichever message of the task comes next, or on the embedder's notice
 *   that it dropped the task's batches (then no batch may come at all);
 * - a completed or cancelled task writes nothing more, so a late redelivery never resurrects chunks
 *   of a document that RAGFlow has since deleted for a re-parse (new tasks have new ids);
 * - completion is published under the task's message id and flipped in the state by one caller.
 */
export function createIndexHandler(deps: IndexStageDeps) {
  const ensured = new Set<string>();

  /**
   * Marks the task cancelled and, when this call is the one that did, removes every chunk of the
   * document (RAGFlow's delete by doc_id on cancel) and reports it. Later calls only drop their work:
   * deleting by document again could remove chunks of a newer task of the same document.
   */
  async function cancel(task: TaskRef): Promise<void> {
    const { changed } = await deps.taskState.update(task.task_id, (s) => {
      const cur = s as IndexerTaskState;
      return cur.cancelledAt ? null : ({ ...cur, cancelledAt: Date.now() } as TaskState);
    });
    if (!changed) return;
    const removed = await deps.docstore.deleteByDoc(task.tenant_id, task.kb_id, task.doc_id);
    await deps.progress.report(task, `Task has been cancelled; removed ${removed} indexed chunks. [Canceled]`, -1, { key: 'cancelled-index' });
    deps.logger.info({ task_id: task.task_id, removed }, 'task cancelled: chunks removed');
  }

  async function maybeComplete(task: TaskRef, state: IndexerTaskState): Promise<void> {
    if (!isTaskComplete(state) || state.cancelledAt) return;
    // RAGFlow once reported DONE before its chunks were searchable: refresh first
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
      { msgID: msgIds.completed(task), taskId: task.task_id, docId: task.doc_id },
    );
    if (await deps.taskState.markCompleted(task.task_id)) {
      deps.logger.info({ task_id: task.task_id, chunks: state.chunks, batches: state.batches.length }, 'task complete');
    }
  }

  async function write(task: TaskRef, msg: EmbeddedBatch): Promise<void> {
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
    if (result.errors.length) throw upsertFailure(result.errors, docs.length);
    // the enricher's document metadata (enable_metadata), merged where RAGFlow keeps it
    // (ragflow_doc_meta_<tenant>); a merge is idempotent, so a redelivered batch changes nothing
    if (msg.doc_metadata && Object.keys(msg.doc_metadata).length > 0) {
      await withSpan(deps.tracer, 'merge document metadata', {}, () => deps.docstore.mergeDocMetadata(task.tenant_id, task.kb_id, task.doc_id, msg.doc_metadata!));
    }
  }

  function indexBatch(msg: EmbeddedBatch, ctx: DeliveryContext): Promise<void> {
    const ids = msg.chunks.map((c) => c.id);
    return indexOnce(msg.task, msg.batch_no, ctx, {
      write: () => write(msg.task, msg),
      writtenIds: ids,
      chunkIds: ids,
      tokens: msg.tokens,
    });
  }

  /**
   * A task's parent records (children_delimiter): written without a vector, as RAGFlow's insert_chunks
   * writes its mothers, then recorded as one of the task's batches with no chunks and no tokens
   * (RAGFlow's chunk_num counts children only, and its task.chunk_ids lists the chunks it inserted,
   * not the mothers). Same exactly-once rules as an embedded batch.
   */
  function indexParents(msg: ParentBatch, ctx: DeliveryContext): Promise<void> {
    const task = msg.task;
    return indexOnce(task, msg.batch_no, ctx, {
      write: async () => {
        const result = await withSpan(deps.tracer, 'bulk upsert parents', { attributes: { [ATTR.chunkCount]: msg.parents.length } }, () =>
          deps.docstore.upsertParents(task.tenant_id, msg.parents),
        );
        if (result.errors.length) throw upsertFailure(result.errors, msg.parents.length);
      },
      writtenIds: msg.parents.map((p) => p.id),
      chunkIds: [],
      tokens: 0,
    });
  }

  /** Writes one batch of a task at most once, reports it, records it, and completes the task when it was the last. */
  async function indexOnce(
    task: TaskRef,
    batchNo: number,
    ctx: DeliveryContext,
    batch: { write: () => Promise<void>; writtenIds: string[]; chunkIds: string[]; tokens: number },
  ): Promise<void> {
    let state = (await deps.taskState.get(task.task_id)) as IndexerTaskState;
    if (state.cancelledAt) return dropped(task, batchNo, 'task cancelled');
    if (await deps.isCancelled(task.task_id)) return cancel(task);
    if (state.completedAt !== null) return dropped(task, batchNo, 'task already complete');

    const recorded = state.batches.includes(batchNo);
    if (!recorded) {
      await batch.write();
      // a cancel that landed while this batch was written: take the batch out again
      if (await deps.isCancelled(task.task_id)) {
        await deps.docstore.deleteByIds(task.tenant_id, task.kb_id, batch.writtenIds);
        return cancel(task);
      }
      ctx.working();
    }
    // The event goes out before the batch is recorded: completion needs every batch recorded, so it
    // can never overtake the event of a batch whose process died between the two (its redelivery
    // rewrites the same ids and republishes under the same message id).
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
        batch_no: batchNo,
        chunk_ids: batch.chunkIds,
        tokens: batch.tokens,
        indexed_batches: state.batches.length + (recorded ? 0 : 1),
        total_batches: state.expectedBatches,
      },
      { msgID: msgIds.batchIndexed(task, batchNo), taskId: task.task_id, docId: task.doc_id },
    );
    if (!recorded) ({ state } = await deps.taskState.recordBatch(task.task_id, batchNo, batch.chunkIds.length, batch.tokens));
    await maybeComplete(task, state);
  }

  function dropped(task: TaskRef, batchNo: number | null, why: string): void {
    deps.logger.debug({ task_id: task.task_id, batch_no: batchNo }, `index message dropped: ${why}`);
  }

  async function recordManifest(msg: TaskManifest): Promise<void> {
    const { state } = await deps.taskState.recordManifest(msg.task.task_id, msg.batches, msg.chunks);
    await maybeComplete(msg.task, state);
  }

  return async function handleIndexMessage(msg: IndexMessage, ctx: DeliveryContext): Promise<void> {
    const task = msg.task;
    ctx.span.setAttributes(taskAttributes(task));
    if (msg.kind === 'manifest') {
      const state = (await deps.taskState.get(task.task_id)) as IndexerTaskState;
      if (state.cancelledAt) return dropped(task, null, 'task cancelled');
      if (await deps.isCancelled(task.task_id)) return cancel(task);
      return recordManifest(msg);
    }
    if (msg.kind === 'cancelled') {
      // the embedder saw the cancel flag and drops the task's batches: remove what is indexed here
      const state = (await deps.taskState.get(task.task_id)) as IndexerTaskState;
      if (state.cancelledAt) return dropped(task, msg.batch_no, 'task cancelled');
      if (state.completedAt !== null) return dropped(task, msg.batch_no, 'task already complete');
      return cancel(task);
    }
    ctx.span.setAttribute(ATTR.batchNo, msg.batch_no);
    if (msg.kind === 'parents') return indexParents(msg, ctx);
    return indexBatch(msg, ctx);
  };
}
