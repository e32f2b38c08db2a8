import type { EmbeddingBackend } from './backend.js';
import { createHashingBackend } from './hashing.js';
import type { HttpBackendOptions } from './http.js';
import { createLocalBackend, LOCAL_DIM } from './local.js';
import { createOllamaBackend } from './ollama.js';
import { createOpenAICompatibleBackend } from './openai.js';
import { createTeiBackend } from './tei.js';

export const BACKEND_KINDS = ['openai', 'tei', 'ollama', 'local', 'hashing'] as const;
export type BackendKind = (typeof BACKEND_KINDS)[number];
/** Kinds that run inside the process: no url. */
export const IN_PROCESS_KINDS: readonly BackendKind[] = ['local', 'hashing'];

/** One configured model server: what `EMBEDDING_BACKENDS` maps an embd_id to. */
export interface BackendSpec extends Partial<Omit<HttpBackendOptions, 'fetch' | 'countTokens'>> {
  kind: BackendKind;
  /** required for every kind but local and hashing */
  url?: string;
  /**
   * the model name sent to the server (local: reported name, default universal-sentence-encoder-lite;
   * hashing: reported name, default ragline-hash-<dim>)
   */
  model?: string;
  /** openai: `dimensions` request field; tei/ollama: Matryoshka size; hashing: the vector size (default 1024); local: always 512 */
  dimensions?: number;
  /** local: the model's own sentencepiece tokens, default 512 */
  maxTokens?: number;
  /** local only: texts per inference (default 8) */
  batchSize?: number;
  /** tei default true, ollama default false */
  truncate?: boolean;
  /** tei only; default true */
  normalize?: boolean;
}

function need(spec: BackendSpec, key: 'url' | 'model'): string {
  const v = spec[key];
  if (!v) throw new RangeError(`embedding backend of kind ${spec.kind} needs "${key}"`);
  return v;
}

/** Builds a backend from its spec; shared options (timeouts, retries, token counting) apply to HTTP kinds. */
export function createEmbeddingBackend(spec: BackendSpec, extra: Pick<HttpBackendOptions, 'fetch' | 'countTokens'> = {}): EmbeddingBackend {
  const http = {
    ...extra,
    ...(spec.apiKey !== undefined && { apiKey: spec.apiKey }),
    ...(spec.timeoutMs !== undefined && { timeoutMs: spec.timeoutMs }),
    ...(spec.maxRetries !== undefined && { maxRetries: spec.maxRetries }),
    ...(spec.retryBaseMs !== undefined && { retryBaseMs: spec.retryBaseMs }),
    ...(spec.maxRetryDelayMs !== undefined && { maxRetryDelayMs: spec.maxRetryDelayMs }),
    ...(spec.maxTokens !== undefined && { maxTokens: spec.maxTokens }),
    ...(spec.dimensions !== undefined && { dimensions: spec.dimensions }),
  };
  switch (spec.kind) {
    case 'openai':
      return createOpenAICompatibleBackend({ ...http, url: need(spec, 'url'), model: need(spec, 'model') });
    case 'tei':
      return createTeiBackend({
        ...http,
        url: need(spec, 'url'),
        model: spec.model ?? 'tei',
        ...(spec.truncate !== undefined && { truncate: spec.truncate }),
        ...(spec.normalize !== undefined && { normalize: spec.normalize }),
      });
    case 'ollama':
      return createOllamaBackend({ ...http, url: need(spec, 'url'), model: need(spec, 'model'), ...(spec.truncate !== undefined && { truncate: spec.truncate }) });
    case 'local':
      if (spec.dimensions !== undefined && spec.dimensions !== LOCAL_DIM) {
        throw new RangeError(`embedding backend of kind local returns ${LOCAL_DIM}-dim vectors, not ${spec.dimensions}`);
      }
      return createLocalBackend({
        ...(spec.model !== undefined && { model: spec.model }),
        ...(spec.maxTokens !== undefined && { maxTokens: spec.maxTokens }),
        ...(spec.batchSize !== undefined && { batchSize: spec.batchSize }),
      });
    case 'hashing':
      return createHashingBackend({
        ...(spec.dimensions !== undefined && { dim: spec.dimensions }),
        ...(spec.model !== undefined && { model: spec.model }),
        ...(spec.maxTokens !== undefined && { maxTokens: spec.maxTokens }),
        ...(extra.countTokens !== undefined && { countTokens: extra.countTokens }),
      });
    default: {
      const kind: never = spec.kind;
      throw new RangeError(`unknown embedding backend kind ${String(kind)}`);
    }
  }
}
