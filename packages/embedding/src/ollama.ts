import type { EmbeddingBackend } from './backend.js';
import { createHttpEmbedder, floatRow, joinRoute, sameDimension, type HttpBackendOptions } from './http.js';

export interface OllamaOptions extends HttpBackendOptions {
  /** Ollama base, e.g. http://ollama:11434 (a trailing /api/embed is not doubled) */
  url: string;
  model: string;
  /**
   * let Ollama cut over-long inputs silently; default false, so an input over the model's context
   * fails the task with Ollama's message instead of indexing a vector of half a chunk
   */
  truncate?: boolean;
  dimensions?: number;
  /** how long Ollama keeps the model loaded after a call, e.g. "5m"; Ollama's default when unset */
  keepAlive?: string;
  /** the model's input limit in tokens; default 8192 */
  maxTokens?: number;
}

function parseOllamaResponse(json: unknown, expected: number): { vectors: Float32Array[]; reportedTokens?: number } {
  const o = json as { embeddings?: unknown; prompt_eval_count?: unknown } | null;
  if (!o || typeof o !== 'object' || !Array.isArray(o.embeddings)) throw new Error('response has no "embeddings" array');
  if (o.embeddings.length !== expected) throw new Error(`response has ${o.embeddings.length} embeddings for ${expected} inputs`);
  const vectors = o.embeddings.map((row, i) => floatRow(row, `embeddings[${i}]`));
  sameDimension(vectors);
  return typeof o.prompt_eval_count === 'number' ? { vectors, reportedTokens: o.prompt_eval_count } : { vectors };
}

/** Ollama's native `POST /api/embed` (`{model, input, truncate}` -> `{embeddings}`, tokens from `prompt_eval_count`). */
export function createOllamaBackend(opts: OllamaOptions): EmbeddingBackend {
  const http = createHttpEmbedder('ollama', opts, {
    endpoint: joinRoute(opts.url, '/api/embed'),
    body: (texts) => ({
      model: opts.model,
      input: texts,
      truncate: opts.truncate ?? false,
      ...(opts.dimensions !== undefined && { dimensions: opts.dimensions }),
      ...(opts.keepAlive !== undefined && { keep_alive: opts.keepAlive }),
    }),
    parse: parseOllamaResponse,
  });
  return { name: 'ollama', model: opts.model, maxTokens: opts.maxTokens ?? 8192, dimension: http.dimension, embed: http.embed };
}
