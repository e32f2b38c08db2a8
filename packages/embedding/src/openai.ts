import type { EmbeddingBackend, EmbedResult } from './backend.js';
import { EmbeddingError } from './errors.js';
import { sumTokens } from './tokens.js';

export interface OpenAICompatibleOptions {
  /** server base, e.g. http://host:8080 or https://api.example.com/v1 (a trailing /v1 is not doubled) */
  url: string;
  model: string;
  /** sent as `Authorization: Bearer <apiKey>`; never appears in errors */
  apiKey?: string;
  /** asks the server for shortened vectors (OpenAI text-embedding-3-*); omitted when unset */
  dimensions?: number;
  /** per attempt; default 60000 (RAGFlow's @timeout(60) around a batch) */
  timeoutMs?: number;
  /** retries after the first attempt; default 4 */
  maxRetries?: number;
  /** the model's input limit in tokens; default 8191 (OpenAI's) */
  maxTokens?: number;
  /** first back-off delay, doubled each retry, with full jitter; default 500 */
  retryBaseMs?: number;
  /** upper bound of any one wait, including a server's Retry-After; default 30000 */
  maxRetryDelayMs?: number;
  /** token counter used when the server reports no usage; default @ragline/parsing's cl100k_base */
  countTokens?: (s: string) => number;
  fetch?: typeof fetch;
}

const RETRYABLE_STATUS = new Set([408, 409, 425, 429]);
const MAX_ERROR_TEXT = 500;

export function embeddingsEndpoint(base: string): string {
  let u = base.trim().replace(/\/+$/, '');
  if (/\/embeddings$/.test(u)) return u;
  if (!/\/v1$/.test(u)) u += '/v1';
  return `${u}/embeddings`;
}

/**
 * fetch refuses URLs with user:password@, and they must not reach error messages: split them off
 * into a Basic authorization (used when no apiKey is set).
 */
function splitCredentials(url: string): { url: string; basic?: string; secrets: string[] } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return { url, secrets: [] };
  }
  if (!u.username && !u.password) return { url, secrets: [] };
  const user = decodeURIComponent(u.username);
  const pass = decodeURIComponent(u.password);
  u.username = '';
  u.password = '';
  const basic = Buffer.from(`${user}:${pass}`).toString('base64');
  return { url: u.toString(), basic, secrets: [pass, u.password, basic].filter((x) => x.length > 0) };
}

function isRetryableStatus(status: number): boolean {
  return RETRYABLE_STATUS.has(status) || status >= 500;
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

/** The server's own words, from the usual error shapes, else the raw body. */
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
        text = err;
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

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
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

function decodeBase64Floats(b64: string): Float32Array {
  const buf = Buffer.from(b64, 'base64');
  if (buf.byteLength % 4 !== 0) throw new Error(`base64 embedding is ${buf.byteLength} bytes, not a multiple of 4`);
  const out = new Float32Array(buf.byteLength / 4);
  for (let i = 0; i < out.length; i++) out[i] = buf.readFloatLE(i * 4);
  return out;
}

interface ParsedResponse {
  vectors: Float32Array[];
  reportedTokens?: number;
}

function parseEmbeddingResponse(json: unknown, expected: number): ParsedResponse {
  if (!json || typeof json !== 'object' || !Array.isArray((json as { data?: unknown }).data)) {
    throw new Error('response has no "data" array');
  }
  const data = (json as { data: unknown[] }).data;
  if (data.length !== expected) throw new Error(`response has ${data.length} embeddings for ${expected} inputs`);
  const rows = data.map((item, pos) => {
    if (!item || typeof item !== 'object') throw new Error(`data[${pos}] is not an object`);
    const { index, embedding } = item as { index?: unknown; embedding?: unknown };
    let vector: Float32Array;
    if (typeof embedding === 'string') vector = decodeBase64Floats(embedding);
    else if (Array.isArray(embedding) && embedding.every((x) => typeof x === 'number')) vector = Float32Array.from(embedding as number[]);
    else throw new Error(`data[${pos}].embedding is neither a float array nor base64`);
    return { index: typeof index === 'number' ? index : pos, vector };
  });
  rows.sort((a, b) => a.index - b.index);
  rows.forEach((r, i) => {
    if (r.index !== i) throw new Error(`response indices are not 0..${expected - 1}`);
  });
  const dim = rows[0]?.vector.length ?? 0;
  if (rows.some((r) => r.vector.length !== dim || dim === 0)) throw new Error('response vectors have differing or zero dimensions');
  const usage = (json as { usage?: { total_tokens?: unknown; prompt_tokens?: unknown } }).usage;
  const reported = typeof usage?.total_tokens === 'number' ? usage.total_tokens : typeof usage?.prompt_tokens === 'number' ? usage.prompt_tokens : undefined;
  return reported === undefined ? { vectors: rows.map((r) => r.vector) } : { vectors: rows.map((r) => r.vector), reportedTokens: reported };
}

/**
 * Any server speaking OpenAI's /v1/embeddings: OpenAI, vLLM, TEI, Ollama, LocalAI, llama.cpp, Infinity.
 * Retries transient failures itself; what it throws after that is an EmbeddingError whose
 * `retryable` tells the caller whether a later redelivery can help.
 */
export function createOpenAICompatibleBackend(opts: OpenAICompatibleOptions): EmbeddingBackend {
  const { url: endpoint, basic, secrets } = splitCredentials(embeddingsEndpoint(opts.url));
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const maxRetries = opts.maxRetries ?? 4;
  const retryBaseMs = opts.retryBaseMs ?? 500;
  const maxRetryDelayMs = opts.maxRetryDelayMs ?? 30_000;
  const doFetch = opts.fetch ?? globalThis.fetch;
  const apiKey = opts.apiKey && opts.apiKey.length > 0 ? opts.apiKey : undefined;

  const hidden = [...(apiKey ? [apiKey] : []), ...secrets];
  const scrub = (text: string): string => hidden.reduce((t, secret) => t.split(secret).join('***'), text);
  const fail = (message: string, o: ConstructorParameters<typeof EmbeddingError>[1]) =>
    new EmbeddingError(scrub(`embedding ${opts.model} at ${endpoint}: ${message}`), o);

  async function attempt(texts: string[], signal: AbortSignal | undefined): Promise<EmbedResult> {
    const body: Record<string, unknown> = { model: opts.model, input: texts, encoding_format: 'float' };
    if (opts.dimensions !== undefined) body.dimensions = opts.dimensions;
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
    if (apiKey) headers.authorization = `Bearer ${apiKey}`;
    else if (basic) headers.authorization = `Basic ${basic}`;
    const timeout = AbortSignal.timeout(timeoutMs);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;

    let res: Response;
    let text: string;
    try {
      res = await doFetch(endpoint, { method: 'POST', headers, body: JSON.stringify(body), signal: combined });
      text = await res.text();
    } catch (err) {
      if (signal?.aborted) throw fail('aborted by caller', { retryable: false, cause: signal.reason });
      if (timeout.aborted) throw fail(`timed out after ${timeoutMs} ms`, { retryable: true });
      const e = err as Error & { cause?: { code?: string; message?: string } };
      const detail = e.cause?.code ?? e.cause?.message ?? e.message;
      throw fail(`network error: ${detail}`, { retryable: true });
    }

    if (!res.ok) {
      const retryable = isRetryableStatus(res.status);
      const retryAfterMs = res.status === 429 || res.status === 503 ? parseRetryAfter(res.headers.get('retry-after')) : undefined;
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
    let parsed: ParsedResponse;
    try {
      parsed = parseEmbeddingResponse(json, texts.length);
    } catch (err) {
      // some servers answer 200 with an error object
      const said = json && typeof json === 'object' && 'error' in json ? ` (server said: ${serverErrorText(text)})` : '';
      throw fail(`malformed response: ${(err as Error).message}${said}`, { status: res.status, retryable: false });
    }
    const tokens = parsed.reportedTokens ?? (await sumTokens(texts, opts.countTokens));
    return { vectors: parsed.vectors, tokens };
  }

  async function embed(texts: string[], signal?: AbortSignal): Promise<EmbedResult> {
    if (texts.length === 0) return { vectors: [], tokens: 0 };
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

  let dim: Promise<number> | undefined;
  return {
    name: 'openai-compatible',
    model: opts.model,
    maxTokens: opts.maxTokens ?? 8191,
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
    embed,
  };
}
