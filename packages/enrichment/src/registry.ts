import { ConfigError, z } from '@ragline/config';
import type { Logger } from '@ragline/telemetry';
import pLimit, { type LimitFunction } from 'p-limit';
import { createChatModel, type ChatBackendSpec, type ChatModel, type ChatModelOptions } from './chat.js';
import { UnknownChatModelError } from './errors.js';
import type { ChatSettings } from './settings.js';

/**
 * RAGFlow's llm_name for an llm_id (split_model_name): `model`, `model@factory` or
 * `model@instance@factory`, split from the right so a model name may itself hold '@'. It is the
 * model part of the LLM cache key.
 */
export function ragflowLlmName(llmId: string): string {
  const parts = llmId.split('@');
  if (parts.length <= 1) return llmId;
  return parts.slice(0, Math.max(1, parts.length - (parts.length >= 3 ? 2 : 1))).join('@');
}

export interface ChatRegistryOptions {
  /** the CHAT_BASE_URL backend, serving llm_ids whose llm_name is its model and the empty llm_id */
  defaultSpec?: ChatBackendSpec;
  /** llm_id (or llm_name) -> backend (CHAT_BACKENDS) */
  backends?: Record<string, ChatBackendSpec>;
  /** chat calls in flight per process across every backend (MAX_CONCURRENT_CHATS); default 10 */
  maxConcurrentChats?: number;
  breaker?: ChatModelOptions['breaker'];
  logger?: Logger;
  fetch?: typeof fetch;
}

export interface ResolvedChatModel {
  /** the configuration key that serves it: a CHAT_BACKENDS key or "default" */
  key: string;
  /** RAGFlow's llm_name, for the cache key */
  llmName: string;
  model: ChatModel;
}

export interface ChatRegistry {
  /** the backend serving a task's llm_id; throws UnknownChatModelError (permanent) when none does */
  forLlmId(llmId: string): ResolvedChatModel;
  /** the per-process limiter every chat call goes through (RAGFlow's chat_limiter) */
  readonly limiter: LimitFunction;
  /** false while any backend's circuit is open: the enricher's consumer stops pulling */
  canPull(): boolean;
  breakerStates(): Record<string, string>;
}

export function createChatRegistry(opts: ChatRegistryOptions): ChatRegistry {
  const specs = new Map(Object.entries(opts.backends ?? {}));
  const built = new Map<string, ChatModel>();
  const limiter = pLimit(opts.maxConcurrentChats ?? 10);
  const known = [...specs.keys(), ...(opts.defaultSpec ? [`${opts.defaultSpec.model} (CHAT_MODEL)`] : [])];

  function keyFor(llmId: string): string | undefined {
    if (specs.has(llmId)) return llmId;
    const name = ragflowLlmName(llmId);
    if (specs.has(name)) return name;
    if (opts.defaultSpec && (llmId === '' || name === opts.defaultSpec.model || llmId === opts.defaultSpec.model)) return 'default';
    return undefined;
  }

  function model(key: string): ChatModel {
    let m = built.get(key);
    if (m) return m;
    const spec = key === 'default' ? opts.defaultSpec! : specs.get(key)!;
    m = createChatModel(spec, {
      ...(opts.fetch !== undefined && { fetch: opts.fetch }),
      breaker: {
        ...opts.breaker,
        onStateChange: (state, name) => {
          opts.logger?.[state === 'open' ? 'warn' : 'info']({ backend: key, state }, `${name}: circuit ${state}`);
          opts.breaker?.onStateChange?.(state, name);
        },
      },
      onRetry: (err, retry, waitMs) => opts.logger?.warn({ backend: key, retry: retry + 1, wait_ms: Math.round(waitMs), err: (err as Error).message }, 'chat call failed; retrying'),
    });
    built.set(key, m);
    return m;
  }

  return {
    limiter,
    forLlmId(llmId) {
      const key = keyFor(llmId);
      if (key === undefined) throw new UnknownChatModelError(llmId, known);
      return { key, llmName: ragflowLlmName(llmId), model: model(key) };
    },
    canPull: () => [...built.values()].every((m) => m.breaker.allowsWork()),
    breakerStates: () => Object.fromEntries([...built.entries()].map(([k, m]) => [k, m.breaker.state])),
  };
}

const positive = z.number().int().positive();
const Spec = z.strictObject({
  base_url: z.string().refine((s) => /^https?:\/\//.test(s), 'must be an http(s) URL'),
  model: z.string().min(1),
  api_key: z.string().optional(),
  timeout_ms: positive.optional(),
  max_retries: z.number().int().min(0).max(20).optional(),
  max_input_tokens: positive.optional(),
});

/** CHAT_BACKENDS, validated; errors name the llm_id and field but never echo values (they may hold API keys). */
export function parseChatBackends(raw: string | undefined, cfg: Pick<ChatSettings, 'CHAT_TIMEOUT_MS' | 'CHAT_MAX_RETRIES' | 'CHAT_MAX_INPUT_TOKENS'>): Record<string, ChatBackendSpec> {
  if (!raw) return {};
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw new ConfigError(['CHAT_BACKENDS'], 'invalid configuration: CHAT_BACKENDS: not valid JSON');
  }
  const parsed = z.record(z.string().min(1), Spec).safeParse(json);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new ConfigError(['CHAT_BACKENDS'], `invalid configuration: CHAT_BACKENDS: ${lines.join('; ')}`);
  }
  const out: Record<string, ChatBackendSpec> = {};
  for (const [id, s] of Object.entries(parsed.data)) {
    out[id] = {
      baseUrl: s.base_url,
      model: s.model,
      ...(s.api_key !== undefined && { apiKey: s.api_key }),
      timeoutMs: s.timeout_ms ?? cfg.CHAT_TIMEOUT_MS,
      maxRetries: s.max_retries ?? cfg.CHAT_MAX_RETRIES,
      maxInputTokens: s.max_input_tokens ?? cfg.CHAT_MAX_INPUT_TOKENS,
    };
  }
  return out;
}

/** The CHAT_BASE_URL backend, if one is configured. */
export function defaultChatSpec(cfg: ChatSettings): ChatBackendSpec | undefined {
  if (!cfg.CHAT_BASE_URL) return undefined;
  if (!cfg.CHAT_MODEL) throw new ConfigError(['CHAT_MODEL'], 'invalid configuration: CHAT_MODEL: required when CHAT_BASE_URL is set');
  return {
    baseUrl: cfg.CHAT_BASE_URL,
    model: cfg.CHAT_MODEL,
    ...(cfg.CHAT_API_KEY !== undefined && { apiKey: cfg.CHAT_API_KEY }),
    timeoutMs: cfg.CHAT_TIMEOUT_MS,
    maxRetries: cfg.CHAT_MAX_RETRIES,
    maxInputTokens: cfg.CHAT_MAX_INPUT_TOKENS,
  };
}

/** Every API key the chat settings hold (CHAT_API_KEY and those inside CHAT_BACKENDS), for scrubbing logs. */
export function chatSecrets(cfg: ChatSettings): string[] {
  const keys = cfg.CHAT_API_KEY ? [cfg.CHAT_API_KEY] : [];
  try {
    for (const s of Object.values(parseChatBackends(cfg.CHAT_BACKENDS, cfg))) if (s.apiKey) keys.push(s.apiKey);
  } catch {
    // an invalid CHAT_BACKENDS fails at startup anyway
  }
  return keys;
}

/** The registry from configuration; throws ConfigError for a bad CHAT_BACKENDS or a CHAT_BASE_URL without CHAT_MODEL. */
export function chatRegistryFromConfig(cfg: ChatSettings, opts: { logger?: Logger; fetch?: typeof fetch } = {}): ChatRegistry {
  const defaultSpec = defaultChatSpec(cfg);
  return createChatRegistry({
    ...(defaultSpec !== undefined && { defaultSpec }),
    backends: parseChatBackends(cfg.CHAT_BACKENDS, cfg),
    maxConcurrentChats: cfg.MAX_CONCURRENT_CHATS,
    breaker: { failureThreshold: cfg.CHAT_BREAKER_FAILURES, cooldownMs: cfg.CHAT_BREAKER_COOLDOWN_MS },
    ...(opts.logger !== undefined && { logger: opts.logger }),
    ...(opts.fetch !== undefined && { fetch: opts.fetch }),
  });
}
