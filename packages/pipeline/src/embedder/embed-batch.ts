import type { DeliveryContext, Publisher } from '@ragline/bus';
import { EmbeddedBatch, msgIds, packVector, type ChunkBatch, type TopologyNames } from '@ragline/contracts';
import { embedChunksLikeRagflow, type EmbeddingBackend } from '@ragline/embedding';
import { ATTR, taskAttributes, withSpan, type Logger, type Tracer } from '@ragline/telemetry';
import type { CancelCheck } from '../runtime/cancel.js';

export interface EmbedStageDeps {
  backend: EmbeddingBackend;
  publisher: Publisher;
  names: TopologyNames;
  isCancelled: CancelCheck;
  logger: Logger;
  tracer: Tracer;
  /** texts per model call; RAGFlow's EMBEDDING_BATCH_SIZE default 16 */
  batchSize?: number;
  /** model calls in flight per batch; default 4 */
  concurrency?: number;
}

/** Keeps the title vector per task so the title is embedded once per task per replica (RAGFlow embeds it once per task). */
class TitleCache {
  private readonly map = new Map<string, Float32Array>();
  constructor(private readonly max = 1000) {}
  get(key: string) {
    return this.map.get(key);
  }
  set(key: string, v: Float32Array) {
    if (this.map.size >= this.max) this.map.delete(this.map.keys().next().value!);
    this.map.set(key, v);
  }
}

/** Embedder stage: chunk batch -> vectors (title mixed in with RAGFlow's weight) -> embedded batch. */
export function createEmbedHandler(deps: EmbedStageDeps) {
  const titles = new TitleCache();
  return async function handleBatch(msg: ChunkBatch, ctx: DeliveryContext): Promise<void> {
    const task = msg.task;
    ctx.span.setAttributes({ ...taskAttributes(task), [ATTR.batchNo]: msg.batch_no, [ATTR.chunkCount]: msg.chunks.length, [ATTR.model]: deps.backend.model });
    if (await deps.isCancelled(task.task_id)) {
      deps.logger.info({ task_id: task.task_id, batch: msg.batch_no }, 'task cancelled: batch dropped');
      return;
    }
    const cacheKey = `${task.task_id}`;
    const result = await withSpan(deps.tracer, 'embed', { attributes: { [ATTR.model]: deps.backend.model, [ATTR.chunkCount]: msg.chunks.length } }, async (span) => {
      const r = await embedChunksLikeRagflow(deps.backend, msg.chunks, {
        title: task.doc_name,
        titleWeight: task.filename_embd_weight,
        titleVector: titles.get(cacheKey),
        batchSize: deps.batchSize ?? 16,
        concurrency: deps.concurrency ?? 4,
      });
      span.setAttributes({ [ATTR.tokenCount]: r.tokens, 'ragline.embedding.dim': r.dim });
      return r;
    });
    titles.set(cacheKey, result.titleVector);
    ctx.working();
    await deps.publisher.publish(
      deps.names.subjects.embedded,
      EmbeddedBatch,
      {
        v: 1,
        kind: 'embedded',
        task,
        batch_no: msg.batch_no,
        model: deps.backend.model,
        tokens: result.tokens,
        chunks: msg.chunks,
        vectors: { encoding: 'f32le-base64', dim: result.dim, data: result.vectors.map(packVector) },
      },
      { msgID: msgIds.embeddedBatch(task.task_id, msg.batch_no), taskId: task.task_id, docId: task.doc_id },
    );
  };
}
