import type { EmbeddingBackend } from './backend.js';
import { createHttpEmbedder, floatRow, sameDimension, type HttpBackendOptions } from './http.js';

export { parseRetryAfter, serverErrorText } from './http.js';

export interface OpenAICompatibleOptions extends HttpBackendOptions {
  /** server base, e.g. http://host:8080 or https://api.example.com/v1 (a trailing /v1 is not doubled) */
  url: string;
  /** asks the server for shortened vectors (OpenAI text-embedding-3-*); omitted when unset */
  dimensions?: number;
  /** the model's input limit in tokens; default 8191 (OpenAI's) */
  maxTokens?: number;
}

export function embeddingsEndpoint(base: string): string {
  let u = base.trim().replace(/\/+$/, '');
  if (/\/embeddings$/.test(u)) return u;
  if (!/\/v1$/.test(u)) u += '/v1';
  return `${u}/embeddings`;
}

function decodeBase64Floats(b64: string): Float32Array {
  const buf = Buffer.from(b64, 'base64');
  if (buf.byteLength % 4 !== 0) throw new Error(`base64 embedding is ${buf.byteLength} bytes, not a multiple of 4`);
  const out = new Float32Array(buf.byteLength / 4);
  for (let i = 0; i < out.length; i++) out[i] = buf.readFloatLE(i * 4);
  return out;
}

function parseEmbeddingResponse(json: unknown, expected: number): { vectors: Float32Array[]; reportedTokens?: number } {
  if (!json || typeof json !== 'object' || !Array.isArray((json as { data?: unknown }).data)) {
    throw new Error('response has no "data" array');
  }
  const data = (json as { data: unknown[] }).data;
  if (data.length !== expected) throw new Error(`response has ${data.length} embeddings for ${expected} inputs`);
  const rows = data.map((item, pos) => {
    if (!item || typeof item !== 'object') throw new Error(`data[${pos}] is not an object`);
    const { index, embedding } = item as { index?: unknown; embedding?: unknown };
    const vector = typeof embedding === 'string' ? decodeBase64Floats(embedding) : floatRow(embedding, `data[${pos}].embedding`);
    return { index: typeof index === 'number' ? index : pos, vector };
  });
  rows.sort((a, b) => a.index - b.index);
  rows.forEach((r, i) => {
    if (r.index !== i) throw new Error(`response indices are not 0..${expected - 1}`);
  });
  const vectors = rows.map((r) => r.vector);
  sameDimension(vectors);
  const usage = (json as { usage?: { total_tokens?: unknown; prompt_tokens?: unknown } }).usage;
  const reported = typeof usage?.total_tokens === 'number' ? usage.total_tokens : typeof usage?.prompt_tokens === 'number' ? usage.prompt_tokens : undefined;
  return reported === undefined ? { vectors } : { vectors, reportedTokens: reported };
}

/**
 * Any server speaking OpenAI's /v1/embeddings: OpenAI, vLLM, TEI, Ollama, LocalAI, llama.cpp, Infinity.
 * Retries transient failures itself; what it throws after that is an EmbeddingError whose
 * `retryable` tells the caller whether a later redelivery can help.
 */
export function createOpenAICompatibleBackend(opts: OpenAICompatibleOptions): EmbeddingBackend {
  const http = createHttpEmbedder('openai-compatible', opts, {
    endpoint: embeddingsEndpoint(opts.url),
    body: (texts) => ({
      model: opts.model,
      input: texts,
      encoding_format: 'float',
      ...(opts.dimensions !== undefined && { dimensions: opts.dimensions }),
    }),
    parse: parseEmbeddingResponse,
  });
  return { name: 'openai-compatible', model: opts.model, maxTokens: opts.maxTokens ?? 8191, dimension: http.dimension, embed: http.embed };
}
