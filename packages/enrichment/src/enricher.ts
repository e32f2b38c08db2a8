import { EnrichSpec, type EnrichSpecInput } from '@ragline/contracts';
import type { Logger, Tracer } from '@ragline/telemetry';
import type { Redis } from 'ioredis';
import { LlmCache } from './cache.js';
import { EnrichmentCancelledError } from './errors.js';
import { forEachChunk, type CallStats, type EnrichChunk, type FeatureContext } from './features/context.js';
import { extractKeywords } from './features/keywords.js';
import { buildMetadataConfig, chunkMetadata, updateMetadataTo } from './features/metadata.js';
import { proposeQuestions } from './features/questions.js';
import { loadTagSet, scoreTags, TAG_FLD, TAG_QUERY_KEYWORDS, tagWithModel, type TagExample, type TagSource } from './features/tags.js';
import { createTagQueryBuilder, type TagQueryBuilder } from './features/tag-query.js';
import { buildTocChunk } from './features/toc.js';
import type { ChatRegistry } from './registry.js';

export interface EnricherDeps {
  registry: ChatRegistry;
  /** RAGFlow's Redis (its DB): the LLM and tag caches are shared with RAGFlow */
  redis: Redis;
  /** the doc store's tag aggregates; required for specs with tag_kb_ids */
  tagSource?: TagSource;
  tracer?: Tracer;
  logger?: Logger;
  /** random.choices for tagging examples; default Math.random */
  random?: () => number;
  /** builds tag_content's full-text query; default over rag-tokenizer without RAGFlow's rag/res */
  tagQuery?: TagQueryBuilder;
}

export interface EnrichTask {
  task_id: string;
  doc_id: string;
  kb_id: string;
  tenant_id: string;
}

export interface EnrichBatchInput<C extends EnrichChunk = EnrichChunk> {
  spec: EnrichSpecInput;
  task: EnrichTask;
  chunks: C[];
  signal?: AbortSignal;
  /** RAGFlow's has_canceled for this task; checked right before each uncached call */
  isCancelled?: () => boolean | Promise<boolean>;
  /** RAGFlow's progress messages ("Start to generate keywords for every chunk ...", ...) */
  onProgress?: (msg: string) => void;
}

export interface EnrichBatchResult<C extends EnrichChunk = EnrichChunk> {
  /** the batch's chunks, in order: enriched copies, or the same objects when nothing was asked */
  chunks: C[];
  /**
   * enable_metadata: the chunks' metadata merged with RAGFlow's update_metadata_to, in chunk order.
   * The stage merges the document's stored metadata into it (`updateMetadataTo(metadata, existing)`,
   * RAGFlow's order) and writes the result.
   */
  metadata?: Record<string, unknown>;
  llmCalls: number;
  cacheHits: number;
}

export interface BuildTocInput {
  spec: Pick<EnrichSpecInput, 'llm_id'>;
  task: EnrichTask;
  /** every chunk of the task (naive method), with id, doc_id, content_with_weight, page_num_int, top_int */
  chunks: EnrichChunk[];
  signal?: AbortSignal;
  isCancelled?: () => boolean | Promise<boolean>;
  onProgress?: (msg: string) => void;
}

export interface Enricher {
  enrichBatch<C extends EnrichChunk>(input: EnrichBatchInput<C>): Promise<EnrichBatchResult<C>>;
  /** RAGFlow's build_TOC for a whole task: the TOC chunk, or undefined when no headings were found */
  buildToc(input: BuildTocInput): Promise<{ chunk?: EnrichChunk; llmCalls: number; cacheHits: number }>;
}

const seconds = (t0: number) => ((performance.now() - t0) / 1000).toFixed(2);

/** The LLM enrichment RAGFlow's build_chunks runs after chunking, in its order: keywords, questions, metadata, tags. */
export function createEnricher(deps: EnricherDeps): Enricher {
  const cache = new LlmCache(deps.redis);
  const random = deps.random ?? Math.random;
  let tagQuery = deps.tagQuery;

  function context(llmId: string, task: EnrichTask, stats: CallStats, signal: AbortSignal, isCancelled: (() => boolean | Promise<boolean>) | undefined): FeatureContext {
    return {
      taskId: task.task_id,
      chat: deps.registry.forLlmId(llmId),
      cache,
      limiter: deps.registry.limiter,
      stats,
      isCancelled: isCancelled ?? (() => false),
      signal,
      ...(deps.tracer !== undefined && { tracer: deps.tracer }),
      ...(deps.logger !== undefined && { logger: deps.logger }),
    };
  }

  /** One feature over the chunks, with its own abort scope (a failure stops that feature's pending calls). */
  async function phase<T>(ctx: FeatureContext, outer: AbortSignal | undefined, items: T[], fn: (ctx: FeatureContext, item: T) => Promise<void>): Promise<void> {
    const abort = new AbortController();
    const signal = outer ? AbortSignal.any([outer, abort.signal]) : abort.signal;
    await forEachChunk(items, abort, (item) => fn({ ...ctx, signal }, item));
  }

  return {
    async enrichBatch<C extends EnrichChunk>(input: EnrichBatchInput<C>): Promise<EnrichBatchResult<C>> {
      const spec = EnrichSpec.parse(input.spec);
      const wantMetadata = spec.enable_metadata && (truthy(spec.metadata) || (spec.built_in_metadata?.length ?? 0) > 0);
      const stats: CallStats = { llmCalls: 0, cacheHits: 0 };
      if (!(spec.auto_keywords > 0 || spec.auto_questions > 0 || wantMetadata || spec.tag_kb_ids.length > 0)) {
        return { chunks: input.chunks, ...stats };
      }
      const progress = input.onProgress ?? (() => undefined);
      const ctx = context(spec.llm_id, input.task, stats, input.signal ?? new AbortController().signal, input.isCancelled);
      const chunks = input.chunks.map((c) => ({ ...c }));
      const result: EnrichBatchResult<C> = { chunks, ...stats };

      if (spec.auto_keywords > 0) {
        const t0 = performance.now();
        progress('Start to generate keywords for every chunk ...');
        await phase(ctx, input.signal, chunks, (c, d) => extractKeywords(c, d, spec.auto_keywords));
        progress(`Keywords generation ${chunks.length} chunks completed in ${seconds(t0)}s`);
      }
      if (spec.auto_questions > 0) {
        const t0 = performance.now();
        progress('Start to generate questions for every chunk ...');
        await phase(ctx, input.signal, chunks, (c, d) => proposeQuestions(c, d, spec.auto_questions));
        progress(`Question generation ${chunks.length} chunks completed in ${seconds(t0)}s`);
      }
      if (wantMetadata) {
        const t0 = performance.now();
        progress('Start to generate meta-data for every chunk ...');
        const conf = buildMetadataConfig(spec.metadata, spec.built_in_metadata);
        const answers: Array<string | undefined> = new Array(chunks.length);
        await phase(ctx, input.signal, chunks.map((c, i) => [c, i] as const), async (c, [d, i]) => {
          answers[i] = await chunkMetadata(c, d, conf);
        });
        let metadata: Record<string, unknown> = {};
        for (const a of answers) metadata = updateMetadataTo(metadata, a);
        if (Object.keys(metadata).length) result.metadata = metadata;
        progress(`Metadata generation ${chunks.length} chunks completed in ${seconds(t0)}s`);
      }
      if (spec.tag_kb_ids.length > 0) {
        if (!deps.tagSource) throw new TagSourceMissingError(spec.tag_kb_ids);
        const source = deps.tagSource;
        progress('Start to tag for every chunk ...');
        const t0 = performance.now();
        const kbIds = spec.tag_kb_ids;
        const allTags = await loadTagSet(cache, source, input.task.tenant_id, kbIds);
        const examples: TagExample[] = [];
        const toTag: C[] = [];
        for (const d of chunks) {
          if (await ctx.isCancelled()) throw new EnrichmentCancelledError(input.task.task_id);
          tagQuery ??= createTagQueryBuilder();
          const tokens = `${d.title_tks ?? ''} ${d.content_ltks ?? ''}`;
          const keywords = d.important_kwd ?? [];
          const aggs = await source.matchingTagCounts(input.task.tenant_id, kbIds, {
            tokens,
            keywords,
            keywordsTopn: TAG_QUERY_KEYWORDS,
            match: tagQuery(tokens, keywords, TAG_QUERY_KEYWORDS),
          });
          const tags = scoreTags(aggs, allTags, spec.topn_tags);
          if (tags !== undefined) (d as EnrichChunk)[TAG_FLD] = tags;
          if (tags !== undefined && Object.keys(tags).length > 0) examples.push({ content: d.content_with_weight, tags });
          else toTag.push(d);
        }
        await phase(ctx, input.signal, toTag, (c, d) => tagWithModel(c, d, allTags, examples, spec.topn_tags, random));
        progress(`Tagging ${chunks.length} chunks completed in ${seconds(t0)}s`);
      }
      result.llmCalls = stats.llmCalls;
      result.cacheHits = stats.cacheHits;
      return result;
    },

    async buildToc(input) {
      const stats: CallStats = { llmCalls: 0, cacheHits: 0 };
      input.onProgress?.('Start to generate table of content ...');
      const ctx = context(input.spec.llm_id, input.task, stats, input.signal ?? new AbortController().signal, input.isCancelled);
      const chunk = await buildTocChunk(ctx, input.chunks);
      return { ...(chunk !== undefined && { chunk }), ...stats };
    },
  };
}

/** Python truthiness of a JSON value (RAGFlow's `parser_config.get("metadata")`). */
function truthy(v: unknown): boolean {
  if (v === undefined || v === null || v === false || v === 0 || v === '') return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object') return Object.keys(v).length > 0;
  return true;
}

/** A spec asks for tagging but the stage gave the enricher no doc store to read tag knowledge bases from. */
export class TagSourceMissingError extends Error {
  override readonly name = 'TagSourceMissingError';
  readonly retryable = false;
  constructor(kbIds: string[]) {
    super(`tagging from tag knowledge bases ${kbIds.join(', ')} needs a doc store (TagSource); none was given to the enricher`);
  }
}
