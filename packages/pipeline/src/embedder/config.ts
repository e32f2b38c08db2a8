import { ConfigError, z } from '@ragline/config';
import { BACKEND_KINDS, EmbeddingSettings, IN_PROCESS_KINDS, LOCAL_MODEL, type BackendKind, type BackendSpec } from '@ragline/embedding';
import type { Logger, Tracer } from '@ragline/telemetry';
import { createEmbeddingRegistry, type EmbeddingRegistry } from './registry.js';

/**
 * The embedding settings (`@ragline/embedding`'s EmbeddingSettings), under the name apps and the CLI
 * spread into their `CommonEnv.extend({...})`.
 */
export const EmbeddingEnvShape = EmbeddingSettings;
export type EmbeddingEnv = EmbeddingSettings;

const positive = z.number().int().positive();
const inProcess = (kind: BackendKind): boolean => IN_PROCESS_KINDS.includes(kind);
const Spec = z
  .strictObject({
    kind: z.enum(BACKEND_KINDS),
    url: z.string().refine((s) => /^https?:\/\//.test(s), 'must be an http(s) URL').optional(),
    model: z.string().min(1).optional(),
    apiKey: z.string().optional(),
    dimensions: positive.optional(),
    maxTokens: positive.optional(),
    timeoutMs: positive.optional(),
    maxRetries: z.number().int().min(0).optional(),
    truncate: z.boolean().optional(),
    normalize: z.boolean().optional(),
    /** local only: texts per inference */
    batchSize: positive.optional(),
  })
  .refine((s) => inProcess(s.kind) || s.url !== undefined, { message: 'url is required', path: ['url'] })
  .refine((s) => inProcess(s.kind) || s.kind === 'tei' || s.model !== undefined, { message: 'model is required', path: ['model'] })
  .refine((s) => s.kind !== 'local' || s.dimensions === undefined || s.dimensions === 512, {
    message: 'the local model returns 512-dim vectors',
    path: ['dimensions'],
  });
const Backends = z.record(z.string().min(1), Spec);

/**
 * EMBEDDING_BACKENDS, validated. Errors name the embd_id and field but never echo the value, which
 * may hold API keys.
 */
export function parseBackends(raw: string | undefined, defaults: Pick<EmbeddingEnv, 'EMBEDDING_TIMEOUT_MS' | 'EMBEDDING_MAX_RETRIES'>): Record<string, BackendSpec> {
  if (!raw) return {};
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw new ConfigError(['EMBEDDING_BACKENDS'], 'invalid configuration: EMBEDDING_BACKENDS: not valid JSON');
  }
  const parsed = Backends.safeParse(json);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new ConfigError(['EMBEDDING_BACKENDS'], `invalid configuration: EMBEDDING_BACKENDS: ${lines.join('; ')}`);
  }
  const out: Record<string, BackendSpec> = {};
  for (const [id, spec] of Object.entries(parsed.data)) {
    out[id] = { timeoutMs: defaults.EMBEDDING_TIMEOUT_MS, maxRetries: defaults.EMBEDDING_MAX_RETRIES, ...spec } as BackendSpec;
  }
  return out;
}

/**
 * Every embedding API key the configuration holds, EMBEDDING_BACKENDS' included, for the logger to
 * scrub: a key inside the JSON has no setting name that gives it away (chatSecrets' counterpart).
 */
export function embeddingSecrets(cfg: Pick<EmbeddingEnv, 'EMBEDDING_API_KEY' | 'EMBEDDING_BACKENDS' | 'EMBEDDING_TIMEOUT_MS' | 'EMBEDDING_MAX_RETRIES'>): string[] {
  const keys = cfg.EMBEDDING_API_KEY ? [cfg.EMBEDDING_API_KEY] : [];
  try {
    for (const s of Object.values(parseBackends(cfg.EMBEDDING_BACKENDS, cfg))) if (s.apiKey) keys.push(s.apiKey);
  } catch {
    // an invalid EMBEDDING_BACKENDS stops the start anyway, with an error that never echoes it
  }
  return keys;
}

/**
 * EMBEDDING_URL/MODEL/KIND; with no URL the in-process embedder of EMBEDDING_LOCAL_KIND: the local
 * model (the default) or, when asked for, hashing with EMBEDDING_DIM dims.
 */
export function defaultBackendSpec(cfg: EmbeddingEnv): BackendSpec {
  if (!cfg.EMBEDDING_URL) return cfg.EMBEDDING_LOCAL_KIND === 'hashing' ? { kind: 'hashing', dimensions: cfg.EMBEDDING_DIM } : { kind: 'local' };
  return {
    kind: cfg.EMBEDDING_KIND,
    url: cfg.EMBEDDING_URL,
    model: cfg.EMBEDDING_MODEL ?? '',
    ...(cfg.EMBEDDING_API_KEY !== undefined && { apiKey: cfg.EMBEDDING_API_KEY }),
    timeoutMs: cfg.EMBEDDING_TIMEOUT_MS,
    maxRetries: cfg.EMBEDDING_MAX_RETRIES,
  };
}

/**
 * RAGFlow's embd_id ("model@factory") for a knowledge base created here, naming the model the
 * default backend runs (the CLI's ingest gives it to new knowledge bases).
 */
export function defaultEmbdId(cfg: EmbeddingEnv): string {
  if (cfg.EMBEDDING_URL) return `${cfg.EMBEDDING_MODEL}@OpenAI-API-Compatible`;
  return cfg.EMBEDDING_LOCAL_KIND === 'hashing' ? `ragline-hash-${cfg.EMBEDDING_DIM}@Ragline` : `${LOCAL_MODEL}@Ragline`;
}

/**
 * The per-embd_id backend registry from configuration: EMBEDDING_BACKENDS for the listed embd_ids,
 * EMBEDDING_URL/KIND (or the in-process default) for the rest, with the coalescing and breaker settings.
 * Throws ConfigError for a bad EMBEDDING_BACKENDS.
 */
export function embeddingRegistryFromConfig(cfg: EmbeddingEnv, opts: { tracer?: Tracer; logger?: Logger } = {}): EmbeddingRegistry {
  return createEmbeddingRegistry({
    defaultSpec: defaultBackendSpec(cfg),
    backends: parseBackends(cfg.EMBEDDING_BACKENDS, cfg),
    batchSize: cfg.EMBEDDING_BATCH_SIZE,
    maxWaitMs: cfg.EMBEDDING_MAX_WAIT_MS,
    callConcurrency: cfg.EMBEDDING_CALL_CONCURRENCY,
    breaker: { failureThreshold: cfg.EMBEDDING_BREAKER_FAILURES, cooldownMs: cfg.EMBEDDING_BREAKER_COOLDOWN_MS },
    ...(opts.tracer !== undefined && { tracer: opts.tracer }),
    ...(opts.logger !== undefined && { logger: opts.logger }),
  });
}
