import { isRetryableError, retryAfterMsOf, type MakeModelError, type ModelErrorInit } from './errors.js';

/** Statuses worth another try besides every 5xx: timeout, conflict, too early, rate limited. */
export const RETRYABLE_STATUS: ReadonlySet<number> = new Set([408, 409, 425, 429]);
const MAX_ERROR_TEXT = 500;

/**
 * fetch refuses URLs with user:password@, and they must not reach error messages: split them off
 * into a Basic authorization (used when no apiKey is set).
 */
export function splitCredentials(url: string): { url: string; basic?: string; secrets: string[] } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return { url, secrets: [] };
  }
  if (!u.username && !u.password) return { url, secrets: [] };
  const user = decodeURIComponent(u.username);
  const pass = decodeURIComponent(u.password);
  const rawPass = u.password;
  u.username = '';
  u.password = '';
  const basic = Buffer.from(`${user}:${pass}`).toString('base64');
  return { url: u.toString(), basic, secrets: [pass, rawPass, basic].filter((x) => x.length > 0) };
}

/** Joins a base URL and a route without doubling the route when the base already ends in it. */
export function joinRoute(base: string, route: string): string {
  const u = base.trim().replace(/\/+$/, '');
  return u.endsWith(route) ? u : `${u}${route}`;
}

/** Retry-After is either delta-seconds or an HTTP date. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

/** The server's own words, from the usual error shapes (OpenAI, TEI, Ollama, FastAPI), else the raw body. */
export function serverErrorText(body: string): string {
  let text = body.trim();
  try {
    const j = JSON.parse(body) as unknown;
    if (j && typeof j === 'object') {
      const o = j as Record<string, unknown>;
      const err = o.error;
      if (err && typeof err === 'object' && typeof (err as Record<string, unknown>).message === 'string') {
        text = (err as Record<string, string>).message!;
      } else if (typeof err === 'string') {
        // TEI adds error_type (Validation, Tokenizer, Overloaded, ...)
        text = typeof o.error_type === 'string' ? `${err} (${o.error_type})` : err;
      } else if (typeof o.message === 'string') {
        text = o.message;
      } else if (typeof o.detail === 'string') {
        text = o.detail;
      }
    }
  } catch {
    // not JSON: keep the body text
  }
  return text.length > MAX_ERROR_TEXT ? `${text.slice(0, MAX_ERROR_TEXT)}…` : text;
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * How a non-2xx answer is classified: 408/409/425/429, 5xx and `extraRetryable` are transient (with
 * the server's Retry-After, seconds or HTTP date), every other 4xx permanent.
 */
export function statusFailure(res: Response, body: string, extraRetryable: ReadonlySet<number> = new Set()): { message: string; init: ModelErrorInit } {
  const retryable = RETRYABLE_STATUS.has(res.status) || extraRetryable.has(res.status) || res.status >= 500;
  const retryAfterMs = retryable ? parseRetryAfter(res.headers.get('retry-after')) : undefined;
  const init: ModelErrorInit = { status: res.status, retryable };
  if (retryAfterMs !== undefined) init.retryAfterMs = retryAfterMs;
  return { message: `HTTP ${res.status}: ${serverErrorText(body) || res.statusText}`, init };
}

export interface JsonEndpointOptions {
  /** full endpoint URL; credentials in it (user:pass@) become Basic auth and never reach errors */
  url: string;
  /** sent as `Authorization: Bearer <apiKey>`; never appears in errors */
  apiKey?: string;
  /** per attempt */
  timeoutMs: number;
  fetch?: typeof fetch;
}

export interface JsonEndpoint {
  /** the URL without credentials, for messages */
  readonly endpoint: string;
  /** replaces the API key and URL credentials in a text with *** */
  scrub(text: string): string;
  /**
   * POSTs `body` as JSON and returns the answer whatever its status. Transport failures are thrown
   * through `fail`: the caller's abort (permanent), the per-attempt timeout and network errors (retryable).
   */
  post(body: unknown, signal: AbortSignal | undefined, fail: MakeModelError): Promise<{ res: Response; text: string }>;
}

export function jsonEndpoint(opts: JsonEndpointOptions): JsonEndpoint {
  const { url: endpoint, basic, secrets } = splitCredentials(opts.url);
  const doFetch = opts.fetch ?? globalThis.fetch;
  const apiKey = opts.apiKey && opts.apiKey.length > 0 ? opts.apiKey : undefined;
  const hidden = [...(apiKey ? [apiKey] : []), ...secrets];
  const scrub = (text: string): string => hidden.reduce((t, secret) => t.split(secret).join('***'), text);

  return {
    endpoint,
    scrub,
    async post(body, signal, fail) {
      const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
      if (apiKey) headers.authorization = `Bearer ${apiKey}`;
      else if (basic) headers.authorization = `Basic ${basic}`;
      const timeout = AbortSignal.timeout(opts.timeoutMs);
      const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
      try {
        const res = await doFetch(endpoint, { method: 'POST', headers, body: JSON.stringify(body), signal: combined });
        const text = await res.text();
        return { res, text };
      } catch (err) {
        if (signal?.aborted) throw fail('aborted by caller', { retryable: false, cause: signal.reason });
        if (timeout.aborted) throw fail(`timed out after ${opts.timeoutMs} ms`, { retryable: true });
        const e = err as Error & { cause?: { code?: string; message?: string } };
        const detail = e.cause?.code ?? e.cause?.message ?? e.message;
        throw fail(`network error: ${detail}`, { retryable: true });
      }
    },
  };
}

export interface RetryOptions {
  /** retries after the first attempt */
  maxRetries: number;
  /** first back-off delay, doubled each retry, with full jitter */
  retryBaseMs: number;
  /** upper bound of any one wait, including a server's Retry-After */
  maxRetryDelayMs: number;
  signal?: AbortSignal;
  /** which failures are retried; default: those whose `retryable` is true */
  shouldRetry?: (err: unknown) => boolean;
  /** the error thrown when the caller aborts during a wait */
  aborted: (reason: unknown) => Error;
  /** told before each wait (logs, metrics) */
  onRetry?: (err: unknown, retry: number, waitMs: number) => void;
}

/**
 * Runs `attempt` until it succeeds, fails permanently, or `maxRetries` retries are spent. Waits
 * the server's Retry-After when the error carries one, else exponential back-off with full jitter,
 * both capped at `maxRetryDelayMs`.
 */
export async function retrying<T>(attempt: (retry: number) => Promise<T>, opts: RetryOptions): Promise<T> {
  const shouldRetry = opts.shouldRetry ?? isRetryableError;
  for (let retry = 0; ; retry++) {
    try {
      return await attempt(retry);
    } catch (err) {
      if (!shouldRetry(err) || retry >= opts.maxRetries) throw err;
      const backoff = Math.random() * Math.min(opts.maxRetryDelayMs, opts.retryBaseMs * 2 ** retry);
      const wait = Math.min(opts.maxRetryDelayMs, retryAfterMsOf(err) ?? backoff);
      opts.onRetry?.(err, retry, wait);
      try {
        await sleep(wait, opts.signal);
      } catch (abortReason) {
        throw opts.aborted(abortReason);
      }
    }
  }
}
