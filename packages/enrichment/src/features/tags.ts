import { pythonJsonDumps } from '@ragline/python-repr';
import { isErrorAnswer, parseJsonAnswer, stripThinking } from '../answer.js';
import type { LlmCache, TagSet } from '../cache.js';
import { ChatError } from '../errors.js';
import { fitPrompt, tagsPrompt } from '../prompts.js';
import { cachedStep, type EnrichChunk, type FeatureContext } from './context.js';
import type { TagMatchQuery } from './tag-query.js';

/** RAGFlow's tag field (common/constants.py TAG_FLD). */
export const TAG_FLD = 'tag_feas';
/** RAGFlow's smoothing constant S for tag shares (all_tags_in_portion, tag_content). */
export const TAG_S = 1000;
/** keywords of a chunk's text that make up the tag query (tag_content's keywords_topn) */
export const TAG_QUERY_KEYWORDS = 30;

/** Raw doc-store aggregates: [tag, number of chunks carrying it], in the store's order (count descending). */
export type TagCounts = Array<[tag: string, count: number]>;

/** What the tag knowledge bases' search (RAGFlow's tag_content) matches a chunk with. */
export interface TagQuery {
  /** `title_tks + " " + content_ltks` of the chunk (RAGFlow's qryr.paragraph input) */
  tokens: string;
  /** the chunk's important_kwd (quoted phrases of the query) */
  keywords: string[];
  /** how many of the text's weighted terms to use; 30 */
  keywordsTopn: number;
  /** the query RAGFlow's FulltextQueryer.paragraph builds from the above, ready to run */
  match: TagMatchQuery;
}

/**
 * What a doc store implements so chunks can be tagged from tag knowledge bases. Both return raw
 * aggregates of `tag_kwd`; the scoring (RAGFlow's rag/nlp/search.py) is done here.
 */
export interface TagSource {
  /** tag_kwd counts over every chunk of the tag knowledge bases (all_tags_in_portion's aggregation) */
  allTagCounts(tenantId: string, kbIds: string[]): Promise<TagCounts>;
  /**
   * tag_kwd counts over the tag knowledge base chunks that match the query (tag_content's full-text
   * search: the weighted terms of `tokens` and the quoted keywords, on RAGFlow's query fields);
   * empty when nothing matches
   */
  matchingTagCounts(tenantId: string, kbIds: string[], query: TagQuery): Promise<TagCounts>;
}

/** RAGFlow's all_tags_in_portion: each tag's smoothed share (c + 1) / (total + S), in aggregation order. */
export function tagShares(counts: TagCounts, S = TAG_S): TagSet {
  const total = counts.reduce((s, [, c]) => s + c, 0);
  return new Map(counts.map(([t, c]) => [t, (c + 1) / (total + S)]));
}

/** Python's round(): to the nearest integer, halves to even. */
export function pythonRound(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/**
 * RAGFlow's tag_content scoring: for the tags of the matching chunks, round(0.1 * (c + 1) / (cnt + S)
 * / max(1e-6, share)) with share the tag's all-tags share (0.0001 when unknown), the topn highest
 * (stable: ties keep aggregation order), "." in tags as "_", zero scores dropped. Undefined when
 * nothing matched (RAGFlow returns False and the chunk goes to the LLM).
 */
export function scoreTags(aggs: TagCounts, allTags: TagSet, topn: number, S = TAG_S): Record<string, number> | undefined {
  if (aggs.length === 0) return undefined;
  const cnt = aggs.reduce((s, [, c]) => s + c, 0);
  const scored = aggs.map(([a, c]) => [a, pythonRound((0.1 * (c + 1)) / (cnt + S) / Math.max(1e-6, allTags.get(a) ?? 0.0001))] as const);
  const top = [...scored].sort((x, y) => y[1] - x[1]).slice(0, topn);
  const out: Record<string, number> = {};
  for (const [a, c] of top) if (c > 0) out[a.replace(/\./g, '_')] = c;
  return out;
}

/** RAGFlow's content_tagging result: the answer's tags whose int() is positive, as int. */
export function parseTagAnswer(answer: string): Record<string, number> {
  const obj = parseJsonAnswer(answer);
  const res: Record<string, number> = {};
  if (!obj || typeof obj !== 'object' || Array.isArray(obj)) return res;
  for (const [k, v] of Object.entries(obj as Record<string, unknown>)) {
    const n = pythonInt(v);
    if (n !== undefined && n > 0) res[k] = n;
  }
  return res;
}

/** Python int() of a JSON value: numbers truncated, integer strings parsed, anything else refused. */
function pythonInt(v: unknown): number | undefined {
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'number') return Number.isFinite(v) ? Math.trunc(v) : undefined;
  if (typeof v === 'string' && /^\s*[+-]?\d+\s*$/.test(v)) return Number(v.trim());
  return undefined;
}

/** The tag set of the tag knowledge bases: from the shared cache (10 min), else from the doc store (then cached). */
export async function loadTagSet(cache: LlmCache, source: TagSource, tenantId: string, kbIds: string[]): Promise<TagSet> {
  const cached = await cache.getTags(kbIds);
  if (cached && cached.size > 0) return cached;
  const tags = tagShares(await source.allTagCounts(tenantId, kbIds));
  await cache.setTags(kbIds, tags);
  return tags;
}

export interface TagExample {
  content: string;
  tags: Record<string, number>;
}

/**
 * The LLM route for a chunk the tag knowledge bases did not tag: cached under (llm_name, content,
 * all_tags, {"topn": n}) with the value json.dumps of the tags, as RAGFlow; two examples drawn from the
 * chunks the doc store tagged (or RAGFlow's placeholder example).
 */
export async function tagWithModel(ctx: FeatureContext, chunk: EnrichChunk, allTags: TagSet, examples: TagExample[], topn: number, random: () => number): Promise<void> {
  const text = chunk.content_with_weight;
  const value = await cachedStep(
    ctx,
    'tags',
    { text, history: allTags, genConf: { topn } },
    async () => {
      // random.choices(examples, k=2): two draws with replacement
      const picked = examples.length > 2 ? [0, 1].map(() => examples[Math.floor(random() * examples.length)]!) : [...examples];
      if (picked.length === 0) picked.push({ content: 'This is an example', tags: { example: 1 } });
      const prompt = fitPrompt(tagsPrompt(topn, [...allTags.keys()], picked), text, ctx.chat.model.maxInputTokens);
      const answer = stripThinking(await ctx.chat.model.chat({ ...prompt, genConf: { temperature: 0.5 }, signal: ctx.signal }));
      // RAGFlow's content_tagging raises on an error answer, failing the task
      if (isErrorAnswer(answer)) throw new ChatError(`chat ${ctx.chat.model.model}: tagging answered with an error: ${answer.slice(0, 200)}`, { retryable: false });
      const tags = parseTagAnswer(answer);
      return Object.keys(tags).length ? pythonJsonDumps(tags) : '';
    },
    // only a non-empty result is cached
    (v) => v.length > 0,
  );
  if (!value) return;
  const parsed = parseJsonAnswer(value);
  if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) chunk[TAG_FLD] = parsed;
}
