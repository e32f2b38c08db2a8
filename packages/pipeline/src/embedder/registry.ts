import { CircuitBreaker, createEmbeddingBackend, type BackendSpec, type BreakerState, type CircuitBreakerOptions, type EmbeddingBackend } from '@ragline/embedding';
import type { Logger, Tracer } from '@ragline/telemetry';
import { CoalescingBackend } from './coalescer.js';

export { BACKEND_KINDS, type BackendKind, type BackendSpec } from '@ragline/embedding';

export interface EmbeddingRegistryOptions {
  /** the backend for every embd_id not listed in `backends` (EMBEDDING_URL/MODEL, or the local model / hashing) */
  defaultSpec: BackendSpec;
  /** embd_id ("model@factory", or just "model") -> backend (EMBEDDING_BACKENDS) */
  backends?: Record<string, BackendSpec>;
  /** texts per model call; default 16 */
  batchSize?: number;
  /** default 5 ms */
  maxWaitMs?: number;
  /** model calls in flight per backend per process; default 4 */
  callConcurrency?: number;
  breaker?: Pick<CircuitBreakerOptions, 'failureThreshold' | 'cooldownMs' | 'maxWaitMs'>;
  tracer?: Tracer;
  logger?: Logger;
  /** builds a backend from its spec; default createEmbeddingBackend */
  create?: (spec: BackendSpec) => EmbeddingBackend;
}

export interface RegistryEntry {
  /** the EMBEDDING_BACKENDS key, or "default" */
  key: string;
  spec: BackendSpec;
  backend: CoalescingBackend;
  breaker: CircuitBreaker;
}

export interface EmbeddingRegistry {
  /** the coalescing, breaker-guarded backend serving a knowledge base's embd_id (unknown ids -> the default) */
  forEmbdId(embdId: string): CoalescingBackend;
  /** which configuration key serves an embd_id */
  keyFor(embdId: string): string;
  /** false while any backend's circuit is open: the embedder's consumer stops pulling */
  canPull(): boolean;
  /** backends built so far */
  entries(): RegistryEntry[];
  breakerStates(): Record<string, BreakerState>;
}

/** RAGFlow's embd_id is "model@factory"; the model part alone may also be configured. */
function modelPart(embdId: string): string {
  const at = embdId.lastIndexOf('@');
  return at > 0 ? embdId.slice(0, at) : embdId;
}

/**
 * One backend per configured model server, built on first use and shared by every task of the process:
 * one coalescer (so batches of all tasks for that model merge into full calls) and one circuit breaker.
 * The in-process `local` model goes through the same front: its weights are loaded once per process
 * however many entries use it, and its inferences run one at a time while the coalescer keeps up to
 * `callConcurrency` calls queued for it.
 */
export function createEmbeddingRegistry(opts: EmbeddingRegistryOptions): EmbeddingRegistry {
  const specs = new Map<string, BackendSpec>(Object.entries(opts.backends ?? {}));
  const built = new Map<string, RegistryEntry>();
  const create = opts.create ?? ((spec: BackendSpec) => createEmbeddingBackend(spec));

  function keyFor(embdId: string): string {
    if (specs.has(embdId)) return embdId;
    const model = modelPart(embdId);
    if (specs.has(model)) return model;
    return 'default';
  }

  function entry(key: string): RegistryEntry {
    let e = built.get(key);
    if (e) return e;
    const spec = key === 'default' ? opts.defaultSpec : specs.get(key)!;
    const breaker = new CircuitBreaker({
      ...opts.breaker,
      name: `embedding backend ${key} (${spec.kind} ${spec.model ?? ''})`.trim(),
      onStateChange: (state, name) => opts.logger?.[state === 'open' ? 'warn' : 'info']({ backend: key, state }, `${name}: circuit ${state}`),
    });
    const backend = new CoalescingBackend(create(spec), {
      ...(opts.batchSize !== undefined && { batchSize: opts.batchSize }),
      ...(opts.maxWaitMs !== undefined && { maxWaitMs: opts.maxWaitMs }),
      ...(opts.callConcurrency !== undefined && { concurrency: opts.callConcurrency }),
      ...(opts.tracer !== undefined && { tracer: opts.tracer }),
      breaker,
    });
    e = { key, spec, backend, breaker };
    built.set(key, e);
    return e;
  }

  return {
    forEmbdId: (embdId) => entry(keyFor(embdId)).backend,
    keyFor,
    canPull: () => [...built.values()].every((e) => e.breaker.allowsWork()),
    entries: () => [...built.values()],
    breakerStates: () => Object.fromEntries([...built.values()].map((e) => [e.key, e.breaker.state])),
  };
}
