import { withSpan, type Logger, type Tracer } from '@ragline/telemetry';
import type { LimitFunction } from 'p-limit';
import type { LlmCache } from '../cache.js';
import type { ChatKind } from '../chat.js';
import { EnrichmentCancelledError } from '../errors.js';
import type { ResolvedChatModel } from '../registry.js';

/** A chunk as the parser emits it (RAGFlow's field names); enrichment adds fields to a copy. */
export type EnrichChunk = {
  id: string;
  doc_id: string;
  content_with_weight: string;
  title_tks?: string;
  content_ltks?: string;
  important_kwd?: string[];
  page_num_int?: number[];
  top_int?: number[];
} & Record<string, unknown>;

export interface CallStats {
  llmCalls: number;
  cacheHits: number;
}

/** What every feature needs for its LLM calls: the model, the shared cache and limiter, cancel checks, spans. */
export interface FeatureContext {
  taskId: string;
  chat: ResolvedChatModel;
  cache: LlmCache;
  limiter: LimitFunction;
  stats: CallStats;
  /** RAGFlow's has_canceled, checked in the limiter slot right before each uncached call */
  isCancelled: () => boolean | Promise<boolean>;
  /** aborted by the caller, or when a sibling call of the batch failed (RAGFlow cancels the gathered tasks) */
  signal: AbortSignal;
  tracer?: Tracer;
  logger?: Logger;
}

/**
 * One cached LLM step, as RAGFlow's per-chunk coroutines do it: cache GET under RAGFlow's key; on a
 * miss, a cancel check and the call (`produce`) inside the shared limiter, then the cache SET when
 * `store` allows. One span per step, with the model, kind and whether the cache answered.
 */
export async function cachedStep(
  ctx: FeatureContext,
  kind: ChatKind,
  key: { text: string; history: unknown; genConf: unknown },
  produce: () => Promise<string>,
  store: (value: string) => boolean = () => true,
): Promise<string | undefined> {
  const run = async (setAttr: (k: string, v: string | number | boolean) => void): Promise<string | undefined> => {
    setAttr('gen_ai.request.model', ctx.chat.model.model);
    setAttr('enrichment.kind', kind);
    setAttr('enrichment.llm_name', ctx.chat.llmName);
    const hit = await ctx.cache.get(ctx.chat.llmName, key.text, key.history, key.genConf);
    setAttr('enrichment.cache_hit', hit !== undefined);
    if (hit !== undefined) {
      ctx.stats.cacheHits++;
      return hit;
    }
    const answer = await ctx.limiter(async () => {
      ctx.signal.throwIfAborted();
      if (await ctx.isCancelled()) throw new EnrichmentCancelledError(ctx.taskId);
      ctx.stats.llmCalls++;
      return produce();
    });
    if (store(answer)) await ctx.cache.set(ctx.chat.llmName, key.text, answer, key.history, key.genConf);
    return answer;
  };
  if (!ctx.tracer) return run(() => undefined);
  return withSpan(ctx.tracer, 'enrichment.chat', {}, (span) => run((k, v) => span.setAttribute(k, v)));
}

/**
 * Runs `fn` over every item, at most the limiter's concurrency calling the model at once; the first
 * failure aborts the others' pending calls (as RAGFlow cancels its gathered tasks) and is thrown.
 */
export async function forEachChunk<T>(items: T[], abort: AbortController, fn: (item: T) => Promise<void>): Promise<void> {
  let first: unknown;
  let failed = false;
  await Promise.all(
    items.map((item) =>
      fn(item).catch((err: unknown) => {
        if (!failed) {
          failed = true;
          first = err;
          abort.abort(err);
        }
      }),
    ),
  );
  if (failed) throw first;
}

export function chatFailureIsChunkLevel(err: unknown): boolean {
  // RAGFlow turns a failed call into an "**ERROR**" answer and skips that chunk's field; Ragline does
  // so only for the request-level refusals that concern this chunk's text (bad request, too large,
  // unprocessable). Transient failures go back to the stage (redelivery), and model-level ones
  // (401/403/404) fail the task, since every other chunk would fail the same way.
  const status = (err as { status?: unknown } | null)?.status;
  return typeof status === 'number' && [400, 413, 422].includes(status);
}
