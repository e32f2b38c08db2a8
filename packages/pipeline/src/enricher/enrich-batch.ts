import type { DeliveryContext, Publisher } from '@ragline/bus';
import { ChunkBatch, TaskCancelled, msgIds, type Chunk, type ChunkInput, type DocMetadata, type EnrichSpec, type TaskRef, type TopologyNames } from '@ragline/contracts';
import { ATTR, taskAttributes, withSpan, type Logger, type Tracer } from '@ragline/telemetry';
import type { Redis } from 'ioredis';
import type { CancelCheck } from '../runtime/cancel.js';
import { PROGRESS, type ProgressReporter } from '../runtime/progress.js';

/** What one enrichBatch call gets (`@ragline/enrichment`'s createEnricher(...).enrichBatch). */
export interface EnrichBatchRequest {
  spec: EnrichSpec;
  task: TaskRef;
  chunks: Chunk[];
  signal: AbortSignal;
  /** checked between LLM calls: a cancelled task stops calling the model (the enricher throws an error with `cancelled: true`) */
  isCancelled: () => Promise<boolean>;
  /** RAGFlow's progress messages as each feature starts and ends; the stage tells JetStream it is still working */
  onProgress?: (msg: string) => void;
}

export interface EnrichBatchResult {
  chunks: ChunkInput[];
  /** document metadata extracted from these chunks (enable_metadata) */
  metadata?: DocMetadata;
  llmCalls: number;
  cacheHits: number;
}

/** RAGFlow's build_TOC over every chunk of a task: the TOC chunk (available_int 0, toc_kwd "toc"), if any headings were found. */
export interface BuildTocRequest {
  spec: EnrichSpec;
  task: TaskRef;
  chunks: ChunkInput[];
  signal: AbortSignal;
  isCancelled: () => Promise<boolean>;
  onProgress?: (msg: string) => void;
}

/** The LLM side of the stage; structural, so the stage does not depend on how it is built. */
export interface ChunkEnricher {
  enrichBatch(req: EnrichBatchRequest): Promise<EnrichBatchResult>;
  buildToc?(req: BuildTocRequest): Promise<{ chunk?: Record<string, unknown>; llmCalls: number; cacheHits: number }>;
}

export interface EnrichStageDeps {
  /**
   * The enricher, built on first use: a replica that only ever passes batches through (no knowledge
   * base asks for LLM work) never constructs a chat client.
   */
  enricher: () => ChunkEnricher;
  publisher: Publisher;
  names: TopologyNames;
  isCancelled: CancelCheck;
  progress: ProgressReporter;
  /** per-task tallies of enriched batches (progress share, the closing line); shared by all replicas */
  redis: Redis;
  logger: Logger;
  tracer: Tracer;
  /** how long the per-task tallies live; default 1 day (a task is done long before) */
  tallyTtlS?: number;
}

/** The enricher's part of the progress bar: the share of a task's batches enriched. */
export function enrichingProgress(enriched: number, total: number): number {
  if (total <= 0) return PROGRESS.enrichFloor;
  return PROGRESS.enrichFloor + (PROGRESS.enrichCeil - PROGRESS.enrichFloor) * Math.min(1, enriched / total);
}

/** The features a spec turns on, in RAGFlow's words, for the progress lines. */
export function enrichFeatures(spec: EnrichSpec): string[] {
  const out: string[] = [];
  if (spec.auto_keywords > 0) out.push(`keywords (${spec.auto_keywords})`);
  if (spec.auto_questions > 0) out.push(`questions (${spec.auto_questions})`);
  if (spec.tag_kb_ids.length > 0) out.push(`tags (top ${spec.topn_tags})`);
  if (spec.enable_metadata) out.push('metadata');
  if (spec.toc_extraction) out.push('table of contents');
  return out;
}

/**
 * Counts a batch once per task however often it is redelivered (SADD of its number), and adds its
 * chunk and call counts only the first time: returns [batches enriched, chunks, calls, cache hits].
 */
const TALLY = `
local added = redis.call('SADD', KEYS[1], ARGV[1])
if added == 1 then
  redis.call('HINCRBY', KEYS[2], 'chunks', ARGV[2])
  redis.call('HINCRBY', KEYS[2], 'calls', ARGV[3])
  redis.call('HINCRBY', KEYS[2], 'hits', ARGV[4])
end
redis.call('EXPIRE', KEYS[1], ARGV[5])
redis.call('EXPIRE', KEYS[2], ARGV[5])
local h = redis.call('HMGET', KEYS[2], 'chunks', 'calls', 'hits')
return { redis.call('SCARD', KEYS[1]), tonumber(h[1]) or 0, tonumber(h[2]) or 0, tonumber(h[3]) or 0 }
`;

export const enrichTallyKeys = (taskId: string) => [`ragline:enrich:${taskId}:batches`, `ragline:enrich:${taskId}:counts`] as const;
/** toc_extraction: each enriched batch's chunks (field batch_no), and the batch that carries the TOC chunk */
export const enrichTocKeys = (taskId: string) => [`ragline:enrich:${taskId}:toc_chunks`, `ragline:enrich:${taskId}:toc_owner`] as const;

/**
 * Enricher stage: chunk batch -> RAGFlow's LLM features (keywords, questions, tags, metadata, TOC)
 * -> chunk batch for the embedder. A batch whose task asks for nothing is passed on untouched.
 * Errors keep their `retryable` property, so the consumer loop acks, naks or dead-letters them
 * (a 429 or 5xx of the chat endpoint is retried with its Retry-After; a refused request is not).
 */
export function createEnrichHandler(deps: EnrichStageDeps) {
  const ttl = deps.tallyTtlS ?? 24 * 3600;
  let enricher: ChunkEnricher | undefined;
  const enricherOnce = () => (enricher ??= deps.enricher());

  const forward = (msg: ChunkBatch, chunks: ChunkInput[], metadata?: DocMetadata) =>
    deps.publisher.publish(
      deps.names.subjects.chunks,
      ChunkBatch,
      {
        v: 1,
        kind: 'chunks',
        task: msg.task,
        batch_no: msg.batch_no,
        chunks,
        ...(metadata && Object.keys(metadata).length > 0 && { doc_metadata: metadata }),
      },
      // not the enrich hop's id: the chunks stream would drop it as that message's duplicate
      { msgID: msgIds.chunkBatch(msg.task, msg.batch_no), taskId: msg.task.task_id, docId: msg.task.doc_id },
    );

  // as the embedder does: the indexer may be waiting for nothing else, and must remove what it indexed
  async function dropCancelled(msg: ChunkBatch, when: string): Promise<void> {
    const task = msg.task;
    await deps.publisher.publish(
      deps.names.subjects.cancelled,
      TaskCancelled,
      { v: 1, kind: 'cancelled', task, batch_no: msg.batch_no },
      { msgID: msgIds.cancelled(task), taskId: task.task_id, docId: task.doc_id },
    );
    deps.logger.info({ task_id: task.task_id, batch: msg.batch_no }, `task cancelled ${when}: batch dropped`);
  }

  return async function handleBatch(msg: ChunkBatch, ctx: DeliveryContext): Promise<void> {
    const task = msg.task;
    ctx.span.setAttributes({ ...taskAttributes(task), [ATTR.batchNo]: msg.batch_no, [ATTR.chunkCount]: msg.chunks.length });
    if (await deps.isCancelled(task.task_id)) return dropCancelled(msg, 'before enriching');
    const spec = msg.enrich;
    if (!spec) {
      // nothing asked: the batch goes on as it came (without the enrich-hop fields)
      await forward(msg, msg.chunks);
      return;
    }

    const features = enrichFeatures(spec);
    const total = msg.batches ?? 0;
    if (msg.batch_no === 0) {
      await deps.progress.report(task, `Start to enrich chunks with ${spec.llm_id || 'the default chat model'}: ${features.join(', ')}.`, PROGRESS.enrichFloor, {
        key: 'enrich.start',
      });
    }
    const started = Date.now();
    let result: EnrichBatchResult;
    try {
      result = await withSpan(
      deps.tracer,
      'enrich',
      { attributes: { ...taskAttributes(task), [ATTR.batchNo]: msg.batch_no, [ATTR.chunkCount]: msg.chunks.length, [ATTR.model]: spec.llm_id } },
      async (span) => {
        const r = await enricherOnce().enrichBatch({
          spec,
          task,
          chunks: msg.chunks,
          signal: ctx.signal,
          isCancelled: () => deps.isCancelled(task.task_id),
          // LLM calls take seconds each: keep the message ours while the batch is being worked on
          // (RAGFlow's per-feature lines go to the log: per batch they would flood progress_msg)
          onProgress: (line) => {
            ctx.working();
            deps.logger.debug({ task_id: task.task_id, batch: msg.batch_no }, line);
          },
        });
        span.setAttributes({ 'ragline.enrich.llm_calls': r.llmCalls, 'ragline.enrich.cache_hits': r.cacheHits });
        return r;
      },
      );
    } catch (e) {
      // the enricher saw the cancel flag between two calls
      if ((e as { cancelled?: unknown }).cancelled === true) return dropCancelled(msg, 'while enriching');
      throw e;
    }
    ctx.working();
    // cancelled while the last answers came in: drop the batch rather than pass it on
    if (await deps.isCancelled(task.task_id)) return dropCancelled(msg, 'while enriching');
    let out = result.chunks;
    const [tocChunks, tocOwner] = enrichTocKeys(task.task_id);
    // RAGFlow's build_TOC needs every chunk of the task: each batch leaves its chunks here, and the
    // batch that completes the task builds the TOC and carries its chunk
    if (spec.toc_extraction && total > 0) {
      await deps.redis.multi().hset(tocChunks, String(msg.batch_no), JSON.stringify(out)).expire(tocChunks, ttl).exec();
    }
    const [keyBatches, keyCounts] = enrichTallyKeys(task.task_id);
    const [enriched, chunks, calls, hits] = (await deps.redis.eval(
      TALLY,
      2,
      keyBatches,
      keyCounts,
      String(msg.batch_no),
      String(msg.chunks.length),
      String(result.llmCalls),
      String(result.cacheHits),
      String(ttl),
    )) as [number, number, number, number];
    let tocLine = '';
    if (spec.toc_extraction && total > 0 && enriched >= total && enricherOnce().buildToc) {
      // one batch owns the TOC, so a redelivery of another one never adds a second TOC chunk
      await deps.redis.set(tocOwner, String(msg.batch_no), 'EX', ttl, 'NX');
      if ((await deps.redis.get(tocOwner)) === String(msg.batch_no)) {
        const stored = await deps.redis.hgetall(tocChunks);
        const all = Object.entries(stored)
          .sort(([a], [b]) => Number(a) - Number(b))
          .flatMap(([, v]) => JSON.parse(v) as ChunkInput[]);
        try {
          const toc = await enricherOnce().buildToc!({
            spec,
            task,
            chunks: all,
            signal: ctx.signal,
            isCancelled: () => deps.isCancelled(task.task_id),
            onProgress: () => ctx.working(),
          });
          if (toc.chunk) out = [...out, toc.chunk as ChunkInput];
          tocLine = toc.chunk ? ' Table of contents added.' : ' No table of contents found.';
        } catch (e) {
          if ((e as { cancelled?: unknown }).cancelled === true) return dropCancelled(msg, 'while building the table of contents');
          throw e;
        }
        ctx.working();
      }
    }
    // the contract checks the enriched chunks (ids, field types) before the embedder sees them
    await forward(msg, out, result.metadata);
    deps.logger.info(
      { task_id: task.task_id, batch: msg.batch_no, chunks: msg.chunks.length, llm_calls: result.llmCalls, cache_hits: result.cacheHits, took_ms: Date.now() - started },
      'batch enriched',
    );
    if (total > 0) {
      const done = enriched >= total;
      // one line when the last batch is in (RAGFlow's "... completed in Xs" lines); in between only
      // the bar moves (an empty message adds no progress_msg line)
      const line = done ? `Enrichment of ${chunks} chunks done (${features.join(', ')}): ${calls} LLM calls, ${hits} answers from the LLM cache.${tocLine}` : '';
      await deps.progress.report(task, line, enrichingProgress(enriched, total), { key: done ? 'enrich.done' : `enrich.${enriched}` });
    }
  };
}
