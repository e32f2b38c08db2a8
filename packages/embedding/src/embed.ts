import type { EmbeddingBackend, EmbedResult } from './backend.js';
import { EmbeddingError } from './errors.js';
import { defaultTokenizer, fitsInTokens } from './tokens.js';

export interface EmbedTextsOptions {
  /** texts per backend call; default 16 (RAGFlow's EMBEDDING_BATCH_SIZE) */
  batchSize?: number;
  /** backend calls in flight at once; default 4 */
  concurrency?: number;
  /** default @ragline/tokenizer's cl100k_base truncation, as RAGFlow's `truncate` */
  truncateTokens?: (text: string, max: number) => string;
  signal?: AbortSignal;
}

function positiveInt(name: string, v: number): number {
  if (!Number.isInteger(v) || v <= 0) throw new RangeError(`${name} must be a positive integer, got ${v}`);
  return v;
}

/**
 * Embed many texts: each cut to `backend.maxTokens - 10` tokens (RAGFlow's margin; texts short
 * enough in bytes to be within it are not tokenized at all), sent in batches
 * with bounded concurrency, results in input order. The first failure stops new batches and rejects.
 */
export async function embedTexts(backend: EmbeddingBackend, texts: readonly string[], opts: EmbedTextsOptions = {}): Promise<EmbedResult> {
  const batchSize = positiveInt('batchSize', opts.batchSize ?? 16);
  const concurrency = positiveInt('concurrency', opts.concurrency ?? 4);
  if (texts.length === 0) return { vectors: [], tokens: 0 };
  const limit = Math.max(1, backend.maxTokens - 10);
  // only texts that may be over the limit are tokenized (and only then is the tokenizer loaded)
  let truncate = opts.truncateTokens;
  const cut: string[] = new Array<string>(texts.length);
  for (let i = 0; i < texts.length; i++) {
    const t = texts[i]!;
    if (fitsInTokens(t, limit)) cut[i] = t;
    else {
      truncate ??= (await defaultTokenizer()).truncateTokens;
      cut[i] = truncate(t, limit);
    }
  }

  const batches: string[][] = [];
  for (let i = 0; i < cut.length; i += batchSize) batches.push(cut.slice(i, i + batchSize));

  const results: EmbedResult[] = new Array(batches.length);
  let next = 0;
  let failed = false;
  async function worker(): Promise<void> {
    while (!failed && next < batches.length) {
      const i = next++;
      const batch = batches[i]!;
      try {
        const r = await backend.embed(batch, opts.signal);
        if (r.vectors.length !== batch.length) {
          throw new EmbeddingError(`backend ${backend.name} returned ${r.vectors.length} vectors for ${batch.length} texts`, { retryable: false });
        }
        results[i] = r;
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, batches.length) }, worker));

  const vectors: Float32Array[] = [];
  let tokens = 0;
  for (const r of results) {
    vectors.push(...r.vectors);
    tokens += r.tokens;
  }
  return { vectors, tokens };
}

export interface RagflowChunkText {
  content_with_weight: string;
  question_kwd?: string[];
}

export interface EmbedChunksOptions {
  /** the document name (docnm_kwd); RAGFlow falls back to "Title" */
  title: string;
  /** parser_config.filename_embd_weight; 0 or unset means 0.1, as RAGFlow */
  titleWeight?: number;
  /**
   * a title vector embedded earlier for this task, or one being embedded by a concurrent batch of it;
   * skips the title call (and its tokens)
   */
  titleVector?: Float32Array | Promise<Float32Array>;
  batchSize?: number;
  concurrency?: number;
  truncateTokens?: (text: string, max: number) => string;
  signal?: AbortSignal;
}

export interface EmbedChunksResult {
  vectors: Float32Array[];
  titleVector: Float32Array;
  tokens: number;
  dim: number;
}

const TABLE_TAGS = /<\/?(table|td|caption|tr|th)( [^<>]{0,12})?>/g;

/** The text RAGFlow embeds for a chunk: its generated questions if any, else its content without table tags. */
export function ragflowEmbeddingText(chunk: RagflowChunkText): string {
  const text =
    chunk.question_kwd && chunk.question_kwd.length > 0 ? chunk.question_kwd.join('\n') : chunk.content_with_weight.replace(TABLE_TAGS, ' ');
  return text.trim() === '' ? 'None' : text;
}

/** v = w*title + (1-w)*content, no re-normalisation (RAGFlow). */
export function mixTitle(title: Float32Array, content: Float32Array, w: number): Float32Array {
  if (title.length !== content.length) {
    throw new EmbeddingError(`title vector has ${title.length} dims, content vectors ${content.length}`, { retryable: false });
  }
  const out = new Float32Array(content.length);
  for (let i = 0; i < out.length; i++) out[i] = w * title[i]! + (1 - w) * content[i]!;
  return out;
}

/** RAGFlow's `embedding()` step (docs/ragflow-compatibility.md §12 Embedding step) over a task's chunks. */
export async function embedChunksLikeRagflow(
  backend: EmbeddingBackend,
  chunks: readonly RagflowChunkText[],
  opts: EmbedChunksOptions,
): Promise<EmbedChunksResult> {
  const w = opts.titleWeight || 0.1;
  if (!(w > 0 && w <= 1)) throw new RangeError(`titleWeight must be in [0, 1], got ${opts.titleWeight}`);
  const common = {
    ...(opts.batchSize !== undefined && { batchSize: opts.batchSize }),
    ...(opts.concurrency !== undefined && { concurrency: opts.concurrency }),
    ...(opts.truncateTokens !== undefined && { truncateTokens: opts.truncateTokens }),
    ...(opts.signal !== undefined && { signal: opts.signal }),
  };

  const given = opts.titleVector;
  // The title is embedded once per task, alongside the content batches (or awaited from the batch embedding it).
  const [title, content] = await Promise.all([
    given ? Promise.resolve(given).then((v) => ({ vectors: [v], tokens: 0 })) : embedTexts(backend, [opts.title || 'Title'], common),
    embedTexts(backend, chunks.map(ragflowEmbeddingText), common),
  ]);
  const titleVector = title.vectors[0]!;
  const tokens = title.tokens + content.tokens;
  const vectors = content.vectors.map((v) => mixTitle(titleVector, v, w));
  return { vectors, titleVector, tokens, dim: titleVector.length };
}
