import type { EmbedResult } from './backend.js';
import { EmbeddingError } from './errors.js';
import { sumTokens } from './tokens.js';

/** What every HTTP embedding backend accepts for transport, auth and retries. */
export interface HttpBackendOptions {
  /** server base URL; credentials in it (user:pass@) become Basic auth and never reach errors */
  url: string;
  model: string;
  /** sent as `Authorization: Bearer <apiKey>`; never appears in errors */
  apiKey?: string;
  /** per attempt; default 60000 (RAGFlow's @timeout(60) around a batch) */
  timeoutMs?: number;
  /** retries after the first attempt; default 4 */
  maxRetries?: number;
  /** first back-off delay, doubled each retry, with full jitter; default 500 */
  retryBaseMs?: number;
  /** upper bound of any one wait, including a server's Retry-After; default 30000 */
  maxRetryDelayMs?: number;
  /** token counter used when the server reports no usage; default @ragline/tokenizer's cl100k_base */
  countTokens?: (s: string) => number;
  fetch?: typeof fetch;
}

/** How one wire protocol differs: where to POST, what to send, how to read the answer. */
export interface HttpProtocol {
  endpoint: string;
  body(texts: string[]): Record<string, unknown>;
  /** throws a plain Error describing what is wrong with a 2xx body */
  parse(json: unknown, expected: number): { vectors: Float32Array[]; reportedTokens?: number };
  /** statuses worth retrying besides 408/409/425/429 and 5xx (TEI's 424 "embedding failed") */
  extraRetryableStatus?: readonly number[];
}

const RETRYABLE_STATUS = new Set([408, 409, 425, 429]);
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

/**
 * The server refused a request for its size, so smaller batches may pass: any HTTP 413 (TEI's
 * validation errors "batch size 32 > maximum allowed batch size 16" and "`inputs` must have less
 * than 512 tokens", a proxy's body limit), and the OpenAI-style 400/422 that name a per-request
 * limit ("Requested 312000 tokens, max 300000 tokens per request", code max_tokens_per_request;
 * gateways passing TEI's batch-size message through).
 */
export function requestTooLarge(status: number, body: string): { tooLarge: boolean; maxBatch?: number } {
  const text = serverErrorText(body);
  const max = /maximum allowed batch size:? *(\d+)/i.exec(text);
  const maxBatch = max ? Number(max[1]) : undefined;
  const withMax = (tooLarge: boolean) => (tooLarge && maxBatch !== undefined && maxBatch > 0 ? { tooLarge, maxBatch } : { tooLarge });
  if (status === 413) return withMax(true);
  if (status !== 400 && status !== 422) return { tooLarge: false };
  let code: unknown;
  try {
    const err = (JSON.parse(body) as { error?: { code?: unknown; type?: unknown } } | null)?.error;
    code = err && typeof err === 'object' ? (err.code ?? err.type) : undefined;
  } catch {
    // not JSON: the text decides
  }
  return withMax(code === 'max_tokens_per_request' || /tokens per request|maximum allowed batch size/i.test(text));
}

/** A request refused for its size; `embed` splits the batch and tries the halves. */
class RequestTooLargeError extends EmbeddingError {
  override readonly name: string = 'EmbeddingError';
  constructor(
    message: string,
    status: number,
    /** what the server said, for the message when even one input is refused */
    readonly serverSaid: string,
    readonly maxBatch: number | undefined,
  ) {
    super(message, { status, retryable: false });
  }
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

/** A finite, non-empty number[] as float32, or an Error naming where it came from. */
export function floatRow(row: unknown, where: string): Float32Array {
  if (!Array.isArray(row) || row.length === 0 || !row.every((x) => typeof x === 'number' && Number.isFinite(x))) {
    throw new Error(`${where} is not a non-empty array of numbers`);
  }
  return Float32Array.from(row as number[]);
}

export function sameDimension(vectors: Float32Array[]): void {
  const dim = vectors[0]?.length ?? 0;
  if (vectors.some((v) => v.length !== dim || dim === 0)) throw new Error('response vectors have differing or zero dimensions');
}

export interface HttpEmbedder {
  embed(texts: string[], signal?: AbortSignal): Promise<EmbedResult>;
  /** the model's vector length, learnt by embedding "ok" once (cached; a failure is not cached) */
  dimension(): Promise<number>;
  /** the endpoint without credentials, for messages */
  readonly endpoint: string;
}

/**
 * The transport every HTTP backend shares: auth, per-attempt timeout, retries with exponential
 * back-off and full jitter on network errors, timeouts, 408/409/425/429/5xx (honouring Retry-After),
 * batches split when the server refuses them as too large (`requestTooLarge`), and permanent
 * EmbeddingErrors carrying the server's words with secrets scrubbed.
 */
export function createHttpEmbedder(name: string, opts: HttpBackendOptions, protocol: HttpProtocol): HttpEmbedder {
  const { url: endpoint, basic, secrets } = splitCredentials(protocol.endpoint);
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const maxRetries = opts.maxRetries ?? 4;
  const retryBaseMs = opts.retryBaseMs ?? 500;
  const maxRetryDelayMs = opts.maxRetryDelayMs ?? 30_000;
  const doFetch = opts.fetch ?? globalThis.fetch;
  const apiKey = opts.apiKey && opts.apiKey.length > 0 ? opts.apiKey : undefined;
  const extra = new Set(protocol.extraRetryableStatus ?? []);

  const hidden = [...(apiKey ? [apiKey] : []), ...secrets];
  const scrub = (text: string): string => hidden.reduce((t, secret) => t.split(secret).join('***'), text);
  const fail = (message: string, o: ConstructorParameters<typeof EmbeddingError>[1]) =>
    new EmbeddingError(scrub(`embedding ${opts.model} at ${endpoint} (${name}): ${message}`), o);

  async function attempt(texts: string[], signal: AbortSignal | undefined): Promise<EmbedResult> {
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
    if (apiKey) headers.authorization = `Bearer ${apiKey}`;
    else if (basic) headers.authorization = `Basic ${basic}`;
    const timeout = AbortSignal.timeout(timeoutMs);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;

    let res: Response;
    let text: string;
    try {
      res = await doFetch(endpoint, { method: 'POST', headers, body: JSON.stringify(protocol.body(texts)), signal: combined });
      text = await res.text();
    } catch (err) {
      if (signal?.aborted) throw fail('aborted by caller', { retryable: false, cause: signal.reason });
      if (timeout.aborted) throw fail(`timed out after ${timeoutMs} ms`, { retryable: true });
      const e = err as Error & { cause?: { code?: string; message?: string } };
      const detail = e.cause?.code ?? e.cause?.message ?? e.message;
      throw fail(`network error: ${detail}`, { retryable: true });
    }

    if (!res.ok) {
      const size = requestTooLarge(res.status, text);
      if (size.tooLarge) {
        const said = `HTTP ${res.status}: ${serverErrorText(text) || res.statusText}`;
        throw new RequestTooLargeError(scrub(`embedding ${opts.model} at ${endpoint} (${name}): ${said}`), res.status, scrub(said), size.maxBatch);
      }
      const retryable = RETRYABLE_STATUS.has(res.status) || extra.has(res.status) || res.status >= 500;
      const retryAfterMs = retryable ? parseRetryAfter(res.headers.get('retry-after')) : undefined;
      const o: ConstructorParameters<typeof EmbeddingError>[1] = { status: res.status, retryable };
      if (retryAfterMs !== undefined) o.retryAfterMs = retryAfterMs;
      throw fail(`HTTP ${res.status}: ${serverErrorText(text) || res.statusText}`, o);
    }

    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      // A cut-off body from a proxy is worth another try.
      throw fail(`response is not JSON: ${serverErrorText(text)}`, { status: res.status, retryable: true });
    }
    let parsed: { vectors: Float32Array[]; reportedTokens?: number };
    try {
      parsed = protocol.parse(json, texts.length);
    } catch (err) {
      // some servers answer 200 with an error object
      const said = json && typeof json === 'object' && 'error' in json ? ` (server said: ${serverErrorText(text)})` : '';
      throw fail(`malformed response: ${(err as Error).message}${said}`, { status: res.status, retryable: false });
    }
    const tokens = parsed.reportedTokens ?? (await sumTokens(texts, opts.countTokens));
    return { vectors: parsed.vectors, tokens };
  }

  async function withRetries(texts: string[], signal: AbortSignal | undefined): Promise<EmbedResult> {
    for (let retry = 0; ; retry++) {
      try {
        return await attempt(texts, signal);
      } catch (err) {
        if (!(err instanceof EmbeddingError) || !err.retryable || retry >= maxRetries) throw err;
        const backoff = Math.random() * Math.min(maxRetryDelayMs, retryBaseMs * 2 ** retry);
        const wait = Math.min(maxRetryDelayMs, err.retryAfterMs ?? backoff);
        try {
          await sleep(wait, signal);
        } catch (abortReason) {
          throw fail('aborted by caller', { retryable: false, cause: abortReason });
        }
      }
    }
  }

  // the largest batch the server said it accepts (TEI's --max-client-batch-size), once it has said so
  let maxBatch = Infinity;

  /** A batch refused as too large is halved, recursively, down to single inputs. */
  async function splitting(texts: string[], signal: AbortSignal | undefined): Promise<EmbedResult> {
    if (texts.length > maxBatch) return joined(texts, maxBatch, signal);
    try {
      return await withRetries(texts, signal);
    } catch (err) {
      if (!(err instanceof RequestTooLargeError)) throw err;
      if (err.maxBatch !== undefined && err.maxBatch < texts.length) {
        maxBatch = err.maxBatch;
        return joined(texts, maxBatch, signal);
      }
      if (texts.length === 1) {
        throw fail(`an input of ${texts[0]!.length} characters is over the server's request limit even alone (${err.serverSaid}); it was split down to single inputs`, {
          status: err.status!,
          retryable: false,
        });
      }
      return joined(texts, Math.ceil(texts.length / 2), signal);
    }
  }

  /** Consecutive parts of at most `size` texts, one after another (the caller's concurrency bound holds). */
  async function joined(texts: string[], size: number, signal: AbortSignal | undefined): Promise<EmbedResult> {
    const vectors: Float32Array[] = [];
    let tokens = 0;
    for (let i = 0; i < texts.length; i += size) {
      const r = await splitting(texts.slice(i, i + size), signal);
      vectors.push(...r.vectors);
      tokens += r.tokens;
    }
    return { vectors, tokens };
  }

  async function embed(texts: string[], signal?: AbortSignal): Promise<EmbedResult> {
    if (texts.length === 0) return { vectors: [], tokens: 0 };
    return splitting(texts, signal);
  }

  let dim: Promise<number> | undefined;
  return {
    endpoint,
    embed,
    dimension() {
      dim ??= embed(['ok']).then(
        (r) => r.vectors[0]!.length,
        (err: unknown) => {
          dim = undefined;
          throw err;
        },
      );
      return dim;
    },
  };
}
