import { CircuitBreaker, joinRoute, jsonEndpoint, retrying, serverErrorText, statusFailure, type BreakerState } from '@ragline/model-http';
import { ChatCircuitOpenError, ChatError } from './errors.js';

/** What Ragline asks a chat model for; one span attribute, one cache history value each (see features). */
export type ChatKind = 'keywords' | 'questions' | 'tags' | 'metadata' | 'toc';

/** One OpenAI-compatible chat backend. */
export interface ChatBackendSpec {
  /** server base URL (`/v1/chat/completions` appended unless it already ends in it); user:pass@ becomes Basic auth */
  baseUrl: string;
  /** model name sent in the request */
  model: string;
  apiKey?: string;
  /** per attempt; default 120000 */
  timeoutMs?: number;
  /** retries after the first attempt; default 4 */
  maxRetries?: number;
  /** first back-off delay, doubled each retry, with full jitter; default 1000 */
  retryBaseMs?: number;
  /** upper bound of any one wait, including a server's Retry-After; default 30000 */
  maxRetryDelayMs?: number;
  /** prompt budget in tokens (RAGFlow's max_length); default 8192 */
  maxInputTokens?: number;
}

export interface ChatRequest {
  system: string;
  user: string;
  /** RAGFlow's gen_conf; only the keys an OpenAI-compatible server takes are sent */
  genConf?: Record<string, unknown>;
  signal?: AbortSignal;
}

export interface ChatModel {
  /** the request's model name */
  readonly model: string;
  /** the URL without credentials, for messages */
  readonly endpoint: string;
  readonly maxInputTokens: number;
  readonly breaker: CircuitBreaker;
  /**
   * The answer text as RAGFlow's LLMBundle.async_chat returns it: the message content, trimmed,
   * with a leading reasoning block (<think>…</think>) removed. Throws ChatError (see its retryability).
   */
  chat(req: ChatRequest): Promise<string>;
}

export interface ChatModelOptions {
  fetch?: typeof fetch;
  breaker?: { failureThreshold?: number; cooldownMs?: number; maxWaitMs?: number; onStateChange?: (state: BreakerState, name: string) => void };
  /** told before each retry wait (logs, metrics) */
  onRetry?: (err: unknown, retry: number, waitMs: number) => void;
}

// RAGFlow's ALLOWED_GEN_CONF_KEYS, the ones an OpenAI-compatible server takes
const GEN_CONF_KEYS = new Set(['temperature', 'max_completion_tokens', 'top_p', 'stop', 'n', 'presence_penalty', 'frequency_penalty', 'seed', 'response_format']);

export const CHAT_ROUTE = '/v1/chat/completions';

/** RAGFlow's LLMBundle._remove_reasoning_content: everything after the last </think>, when a <think> opens before it. */
export function removeReasoning(text: string): string {
  const start = text.indexOf('<think>');
  if (start < 0) return text;
  const end = text.lastIndexOf('</think>');
  if (end < 0 || end < start) return text;
  return text.slice(end + '</think>'.length);
}

/** One backend: per-attempt timeout, bounded retries with back-off and Retry-After, its own circuit breaker. */
export function createChatModel(spec: ChatBackendSpec, opts: ChatModelOptions = {}): ChatModel {
  const timeoutMs = spec.timeoutMs ?? 120_000;
  const http = jsonEndpoint({
    url: joinRoute(spec.baseUrl, CHAT_ROUTE),
    timeoutMs,
    ...(spec.apiKey !== undefined && { apiKey: spec.apiKey }),
    ...(opts.fetch !== undefined && { fetch: opts.fetch }),
  });
  const { endpoint, scrub } = http;
  const fail = (message: string, init: ConstructorParameters<typeof ChatError>[1]) => new ChatError(scrub(`chat ${spec.model} at ${endpoint}: ${message}`), init);
  const breaker = new CircuitBreaker({
    ...opts.breaker,
    name: `chat backend ${spec.model} at ${endpoint}`,
    openError: (message, retryAfterMs) => new ChatCircuitOpenError(scrub(message), retryAfterMs),
  });

  async function attempt(req: ChatRequest): Promise<string> {
    const conf = Object.fromEntries(Object.entries(req.genConf ?? {}).filter(([k]) => GEN_CONF_KEYS.has(k)));
    const messages = [
      { role: 'system', content: req.system },
      { role: 'user', content: req.user },
    ];
    const { res, text } = await http.post({ model: spec.model, messages, stream: false, ...conf }, req.signal, fail);
    if (!res.ok) {
      const f = statusFailure(res, text);
      throw fail(f.message, f.init);
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      // a body cut off by a proxy is worth another try
      throw fail(`response is not JSON: ${serverErrorText(text)}`, { status: res.status, retryable: true });
    }
    const choices = (json as { choices?: unknown } | null)?.choices;
    if (!Array.isArray(choices)) {
      const said = json && typeof json === 'object' && 'error' in json ? ` (server said: ${serverErrorText(text)})` : '';
      throw fail(`malformed response: no choices${said}`, { status: res.status, retryable: false });
    }
    // RAGFlow: no choice, no message or no content is an empty answer
    const content = (choices[0] as { message?: { content?: unknown } } | undefined)?.message?.content;
    return typeof content === 'string' ? removeReasoning(content.trim()) : '';
  }

  return {
    model: spec.model,
    endpoint,
    maxInputTokens: spec.maxInputTokens ?? 8192,
    breaker,
    chat(req) {
      return breaker.run(
        () =>
          retrying(() => attempt(req), {
            maxRetries: spec.maxRetries ?? 4,
            retryBaseMs: spec.retryBaseMs ?? 1000,
            maxRetryDelayMs: spec.maxRetryDelayMs ?? 30_000,
            ...(req.signal !== undefined && { signal: req.signal }),
            shouldRetry: (err) => err instanceof ChatError && err.retryable,
            aborted: (reason) => fail('aborted by caller', { retryable: false, cause: reason }),
            ...(opts.onRetry !== undefined && { onRetry: opts.onRetry }),
          }),
        req.signal,
      );
    },
  };
}
