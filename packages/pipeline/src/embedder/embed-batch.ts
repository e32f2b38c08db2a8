import type { DeliveryContext, Publisher } from '@ragline/bus';
import { EmbeddedBatch, TaskCancelled, msgIds, packVector, type ChunkBatch, type TaskRef, type TopologyNames } from '@ragline/contracts';
import { EmbeddingError, embedChunksLikeRagflow, embedTexts, vectorField, type EmbeddingBackend, type EmbedResult } from '@ragline/embedding';
import { ATTR, taskAttributes, withSpan, type Logger, type Tracer } from '@ragline/telemetry';
import type { CancelCheck } from '../runtime/cancel.js';
import type { KbDimensionGuard } from './kb-dims.js';

export * from './coalescer.js';
export * from './registry.js';
export * from './kb-dims.js';
export * from './config.js';

export interface EmbedStageDeps {
  /** the backend for every task; ignored when `backendFor` is given */
  backend?: EmbeddingBackend;
  /** the backend for a task's knowledge base (its embd_id), e.g. `(t) => registry.forEmbdId(t.embd_id)` */
  backendFor?: (task: TaskRef) => EmbeddingBackend;
  /** checks the model's dimension against what the knowledge base already holds; no check when unset */
  dims?: KbDimensionGuard;
  publisher: Publisher;
  names: TopologyNames;
  isCancelled: CancelCheck;
  logger: Logger;
  tracer: Tracer;
  /** texts per model call for a backend that does not coalesce; RAGFlow's EMBEDDING_BATCH_SIZE default 16 */
  batchSize?: number;
  /** model calls in flight per batch for a backend that does not coalesce; default 4 */
  concurrency?: number;
}

/**
 * The title vector per task, as a promise, so the title is embedded once per task per replica even
 * when several batches of the task are handled at once (RAGFlow embeds it once per task).
 */
class TitleCache {
  private readonly map = new Map<string, Promise<Float32Array>>();
  // a task's batches arrive close together: a few hundred recent tasks is plenty, and keeps the replica's memory flat
  constructor(private readonly max = 256) {}
  get(key: string) {
    return this.map.get(key);
  }
  set(key: string, v: Promise<Float32Array>) {
    if (this.map.size >= this.max) this.map.delete(this.map.keys().next().value!);
    this.map.set(key, v);
    // a failed title embedding is retried by the next batch, not cached
    v.catch(() => {
      if (this.map.get(key) === v) this.map.delete(key);
    });
  }
}

const coalesces = (b: EmbeddingBackend): boolean => (b as { coalescing?: boolean }).coalescing === true;

/** Embedder stage: chunk batch -> vectors (title mixed in with RAGFlow's weight) -> embedded batch. */
export function createEmbedHandler(deps: EmbedStageDeps) {
  if (!deps.backend && !deps.backendFor) throw new TypeError('createEmbedHandler needs backend or backendFor');
  const titles = new TitleCache();
  return async function handleBatch(msg: ChunkBatch, ctx: DeliveryContext): Promise<void> {
    const task = msg.task;
    const backend = deps.backendFor ? deps.backendFor(task) : deps.backend!;
    ctx.span.setAttributes({ ...taskAttributes(task), [ATTR.batchNo]: msg.batch_no, [ATTR.chunkCount]: msg.chunks.length, [ATTR.model]: backend.model });
    if (await deps.isCancelled(task.task_id)) {
      // Tell the indexer: when every batch still to come was waiting here, nothing else would reach
      // it, and the chunks it already indexed would stay while the task never ended.
      await deps.publisher.publish(
        deps.names.subjects.cancelled,
        TaskCancelled,
        { v: 1, kind: 'cancelled', task, batch_no: msg.batch_no },
        { msgID: msgIds.cancelled(task), taskId: task.task_id, docId: task.doc_id },
      );
      deps.logger.info({ task_id: task.task_id, batch: msg.batch_no }, 'task cancelled: batch dropped');
      return;
    }
    // Fail before spending model time when the knowledge base already holds vectors of another size.
    const expectedDim = deps.dims ? await backend.dimension() : undefined;
    if (deps.dims) await deps.dims.check(task, expectedDim!, backend.model);

    const cacheKey = `${task.task_id}\u0000${backend.model}`;
    // A coalescing backend splits and merges calls itself, across tasks; hand it the whole batch.
    const split = coalesces(backend) ? { batchSize: msg.chunks.length, concurrency: 1 } : { batchSize: deps.batchSize ?? 16, concurrency: deps.concurrency ?? 4 };
    const result = await withSpan(
      deps.tracer,
      'embed',
      { attributes: { ...taskAttributes(task), [ATTR.batchNo]: msg.batch_no, [ATTR.model]: backend.model, [ATTR.chunkCount]: msg.chunks.length } },
      async (span) => {
        // this batch embeds the title (and counts its tokens) unless another batch of the task did or is doing it
        let titleVector = titles.get(cacheKey);
        let ownTitle: Promise<EmbedResult> | undefined;
        if (!titleVector) {
          ownTitle = embedTexts(backend, [task.doc_name || 'Title'], { ...split, signal: ctx.signal });
          titleVector = ownTitle.then((t) => t.vectors[0]!);
          titles.set(cacheKey, titleVector);
        }
        const mixed = await embedChunksLikeRagflow(backend, msg.chunks, {
          title: task.doc_name,
          titleWeight: task.filename_embd_weight,
          titleVector,
          signal: ctx.signal,
          ...split,
        });
        const r = { ...mixed, tokens: mixed.tokens + (ownTitle ? (await ownTitle).tokens : 0) };
        span.setAttributes({ [ATTR.tokenCount]: r.tokens, 'ragline.embedding.dim': r.dim, 'ragline.embedding.field': vectorField(r.dim) });
        return r;
      },
    );
    if (expectedDim !== undefined && result.dim !== expectedDim) {
      throw new EmbeddingError(`embedding ${backend.model}: returned ${result.dim}-dim vectors, but the model reported ${expectedDim} dims earlier`, {
        retryable: false,
      });
    }
    ctx.working();
    await deps.publisher.publish(
      deps.names.subjects.embedded,
      EmbeddedBatch,
      {
        v: 1,
        kind: 'embedded',
        task,
        batch_no: msg.batch_no,
        model: backend.model,
        tokens: result.tokens,
        chunks: msg.chunks,
        vectors: { encoding: 'f32le-base64', dim: result.dim, data: result.vectors.map(packVector) },
        ...(msg.doc_metadata && { doc_metadata: msg.doc_metadata }),
      },
      { msgID: msgIds.embeddedBatch(task, msg.batch_no), taskId: task.task_id, docId: task.doc_id },
    );
  };
}
