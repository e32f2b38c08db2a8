import type { EmbeddingBackend } from './backend.js';
import { createHttpEmbedder, floatRow, joinRoute, sameDimension, type HttpBackendOptions } from './http.js';

export interface TeiOptions extends HttpBackendOptions {
  /** TEI server base, e.g. http://tei:8080 (a trailing /embed is not doubled) */
  url: string;
  /** reported in messages and EmbeddedBatch.model; TEI serves one model and ignores it on the wire */
  model: string;
  /** let the server cut inputs over the model's limit; default true (our cl100k cut is only an estimate of the model's tokenizer) */
  truncate?: boolean;
  /** L2-normalise on the server; default true (TEI's default, and what RAGFlow's mixing assumes) */
  normalize?: boolean;
  /** Matryoshka output size; omitted when unset */
  dimensions?: number;
  /** the model's input limit in tokens; default 8192 (bge-m3) */
  maxTokens?: number;
}

function parseTeiResponse(json: unknown, expected: number): { vectors: Float32Array[] } {
  if (!Array.isArray(json)) throw new Error('response is not an array of vectors');
  if (json.length !== expected) throw new Error(`response has ${json.length} embeddings for ${expected} inputs`);
  const vectors = json.map((row, i) => floatRow(row, `vector ${i}`));
  sameDimension(vectors);
  return { vectors };
}

/**
 * Hugging Face text-embeddings-inference's native `POST /embed` (`{inputs, truncate, normalize}` ->
 * `number[][]`, errors `{error, error_type}`). 424 (model failure) and 429 (overloaded) are retried
 * like 5xx; 413 (validation: batch over --max-client-batch-size, or an input over the model's
 * limit with truncate off) splits the batch, down to single inputs, and remembers the batch size
 * the server named; 422 (tokenization) is permanent.
 * TEI reports no token usage, so tokens are counted locally.
 */
export function createTeiBackend(opts: TeiOptions): EmbeddingBackend {
  const http = createHttpEmbedder('tei', opts, {
    endpoint: joinRoute(opts.url, '/embed'),
    body: (texts) => ({
      inputs: texts,
      truncate: opts.truncate ?? true,
      normalize: opts.normalize ?? true,
      ...(opts.dimensions !== undefined && { dimensions: opts.dimensions }),
    }),
    parse: parseTeiResponse,
    extraRetryableStatus: [424],
  });
  return { name: 'tei', model: opts.model, maxTokens: opts.maxTokens ?? 8192, dimension: http.dimension, embed: http.embed };
}
