import { pythonJsonDumps, pythonStr, PyFloat } from '@ragline/python-repr';
import { tokenize } from '@ragline/rag-tokenizer';
import { countTokens } from '@ragline/tokenizer';
import { parseJsonAnswer } from '../answer.js';
import { xxh64HexSurrogatePass } from '../hash.js';
import { tocHeadingsPrompt, tocLevelsPrompt } from '../prompts.js';
import { cachedStep, type EnrichChunk, type FeatureContext } from './context.js';

/** RAGFlow's INPUT_UTILIZATION: half the model's window goes to the chunk texts of one TOC call. */
const INPUT_UTILIZATION = 0.5;
/** RAGFlow's gen_conf for both TOC calls */
const TOC_GEN_CONF = { temperature: new PyFloat(0), top_p: 0.9 };

export interface TocItem {
  level: unknown;
  title: unknown;
  ids?: string[];
}

/**
 * RAGFlow's split_chunks: consecutive chunks packed into batches of at most `maxTokens`, each entry
 * {index: text}; a chunk is never split, and a batch that would overflow is closed first (so a first
 * chunk over the budget leaves an empty batch, which is skipped).
 */
export function splitForToc(texts: string[], maxTokens: number): Array<Array<[number, string]>> {
  const out: Array<Array<[number, string]>> = [];
  let batch: Array<[number, string]> = [];
  let tokens = 0;
  texts.forEach((t, i) => {
    const n = countTokens(t);
    if (tokens + n > maxTokens) {
      out.push(batch);
      batch = [];
      tokens = 0;
    }
    batch.push([i, t]);
    tokens += n;
  });
  if (batch.length) out.push(batch);
  return out;
}

/**
 * RAGFlow's gen_json: the cache (keyed by system prompt, user prompt and gen_conf), else up to two
 * calls, the second told why the first answer did not load; the raw answer is cached once it loads.
 */
async function genJson(ctx: FeatureContext, system: string, user: string): Promise<unknown> {
  let loaded: unknown;
  await cachedStep(
    ctx,
    'toc',
    { text: system, history: user, genConf: TOC_GEN_CONF },
    async () => {
      let prompt = user;
      let last = '';
      for (let attempt = 0; attempt < 2; attempt++) {
        if (last) prompt = `${user}\nThe previous answer was:\n${last}\nIt is not valid JSON. Answer again with valid JSON only.`;
        const ans = (await ctx.chat.model.chat({ system, user: prompt, genConf: { temperature: 0, top_p: 0.9 }, signal: ctx.signal })).replace(/^[\s\S]*<\/think>|```json\n|```\n*$/g, '');
        const v = parseJsonAnswer(ans);
        if (v !== undefined) {
          loaded = v;
          return ans;
        }
        last = ans;
      }
      return '';
    },
    (v) => v.length > 0,
  ).then((cached) => {
    if (loaded === undefined && cached) loaded = parseJsonAnswer(cached);
  });
  return loaded;
}

const NUMERIC_TITLE = /^[0-9,.()/ -]+$/;

/**
 * RAGFlow's run_toc_from_text: headings per batch of chunk texts, filtered ("-1", too many tokens,
 * numbers only), then one call for their levels; returns {level, title, chunk_id} in order.
 */
export async function tocFromTexts(ctx: FeatureContext, texts: string[]): Promise<Array<{ level: unknown; title: unknown; chunk_id: unknown }>> {
  const system = tocHeadingsPrompt();
  const budget = Math.min(1024, Math.floor(ctx.chat.model.maxInputTokens * INPUT_UTILIZATION) - countTokens(system));
  const batches = splitForToc(texts, budget).filter((b) => b.length > 0);
  const perBatch = await Promise.all(
    batches.map(async (batch) => {
      const user = batch.map(([i, t]) => pythonJsonDumps({ [String(i)]: t }, { ensureAscii: false })).join('\n');
      const ans = await genJson(ctx, system, user);
      return Array.isArray(ans) ? (ans as unknown[]) : [];
    }),
  );
  const titles = perBatch.flat();
  const maxLen = titles.length > 512 ? 12 : 22;
  const filtered = titles.filter((x): x is Record<string, unknown> => {
    if (!x || typeof x !== 'object' || Array.isArray(x)) return false;
    const title = (x as Record<string, unknown>).title;
    if (!title || title === '-1') return false;
    const t = pythonStr(title);
    if (tokenize(t).split(' ').length > maxLen) return false;
    return !NUMERIC_TITLE.test(t);
  });
  if (!filtered.length) return [];

  const levels = await genJson(ctx, tocLevelsPrompt(), pythonStr(filtered.map((x) => x.title ?? '')));
  if (!Array.isArray(levels) || !levels.length) return [];
  const normalized: Array<Record<string, unknown>> = [];
  for (const item of levels) {
    if (item && typeof item === 'object' && !Array.isArray(item)) normalized.push(item as Record<string, unknown>);
    else if (Array.isArray(item) && item.length >= 2) normalized.push({ level: pythonStr(item[0]), title: pythonStr(item[1]) });
  }
  if (!normalized.length) return [];
  const prune = normalized.length > 512;
  const levelsSorted = normalized.map((t) => (t.level ?? '0') as string).sort();
  const maxLvl = levelsSorted[levelsSorted.length - 1] ?? '0';
  const merged: Array<{ level: unknown; title: unknown; chunk_id: unknown }> = [];
  for (let i = 0; i < Math.min(normalized.length, filtered.length); i++) {
    const item = normalized[i]!;
    if (prune && String(item.level ?? '0') >= String(maxLvl)) continue;
    merged.push({ level: item.level ?? '0', title: item.title ?? '', chunk_id: filtered[i]!.chunk_id ?? '' });
  }
  return merged;
}

const first = (v: unknown): number => (Array.isArray(v) ? Number(v[0] ?? 0) : Number(v ?? 0));

/** Python int() of a chunk_id, or undefined where it raises. */
function toIndex(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? Math.trunc(v) : undefined;
  if (typeof v === 'string' && /^\s*[+-]?\d+\s*$/.test(v)) return Number(v.trim());
  return undefined;
}

/**
 * RAGFlow's build_TOC over a whole task's chunks (naive method, toc_extraction): chunks ordered by
 * page then top, the headings and levels from the model, each entry given the ids of the chunks from
 * its own to the next entry's, and one TOC chunk made from a copy of the last chunk: content_with_weight
 * the JSON of the entries, toc_kwd "toc", available_int 0, page_num_int [100000000], id xxh64 of
 * content + doc_id. Undefined when the model found no headings.
 */
export async function buildTocChunk(ctx: FeatureContext, chunks: EnrichChunk[]): Promise<EnrichChunk | undefined> {
  if (!chunks.length) return undefined;
  const docs = chunks
    .map((c, i) => ({ c, i }))
    .sort((a, b) => first(a.c.page_num_int) - first(b.c.page_num_int) || first(a.c.top_int) - first(b.c.top_int) || a.i - b.i)
    .map((x) => x.c);
  const toc: Array<Record<string, unknown>> = (await tocFromTexts(ctx, docs.map((d) => d.content_with_weight))).map((x) => ({ ...x }));
  const at = (i: number) => docs[i < 0 ? docs.length + i : i];
  toc.forEach((item, ii) => {
    const val = item.chunk_id;
    delete item.chunk_id;
    if (val === undefined || val === null || String(val).trim() === '') return;
    const curr = toIndex(val);
    if (curr === undefined || curr >= docs.length || !at(curr)) return;
    const ids = [at(curr)!.id];
    item.ids = ids;
    const next = toc[ii + 1]?.chunk_id;
    if (ii + 1 < toc.length && next !== undefined && next !== null && String(next).trim() !== '') {
      const nextIdx = toIndex(next);
      if (nextIdx === undefined) return;
      for (let jj = curr + 1; jj < Math.min(nextIdx + 1, docs.length); jj++) ids.push(docs[jj]!.id);
    }
  });
  if (!toc.length) return undefined;
  const d = structuredClone(docs[docs.length - 1]!) as EnrichChunk;
  d.content_with_weight = pythonJsonDumps(toc, { ensureAscii: false });
  d.toc_kwd = 'toc';
  d.available_int = 0;
  d.page_num_int = [100000000];
  d.id = xxh64HexSurrogatePass(d.content_with_weight + pythonStr(d.doc_id));
  return d;
}
