import { jsonEndpoint, retrying, serverErrorText, statusFailure } from '@ragline/model-http';
import type { EmbedResult } from './backend.js';
import { EmbeddingError } from './errors.js';
import { sumTokens } from './tokens.js';

// the transport helpers moved to @ragline/model-http (shared with the chat client); re-exported unchanged
export { joinRoute, parseRetryAfter, serverErrorText, sleep, splitCredentials } from '@ragline/model-http';

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
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const maxRetries = opts.maxRetries ?? 4;
  const retryBaseMs = opts.retryBaseMs ?? 500;
  const maxRetryDelayMs = opts.maxRetryDelayMs ?? 30_000;
  const extra = new Set(protocol.extraRetryableStatus ?? []);
  const http = jsonEndpoint({
    url: protocol.endpoint,
    timeoutMs,
    ...(opts.apiKey !== undefined && { apiKey: opts.apiKey }),
    ...(opts.fetch !== undefined && { fetch: opts.fetch }),
  });
  const { endpoint, scrub } = http;
  const fail = (message: string, o: ConstructorParameters<typeof EmbeddingError>[1]) =>
    new EmbeddingError(scrub(`embedding ${opts.model} at ${endpoint} (${name}): ${message}`), o);

  async function attempt(texts: string[], signal: AbortSignal | undefined): Promise<EmbedResult> {
    const { res, text } = await http.post(protocol.body(texts), signal, fail);

    if (!res.ok) {
      const size = requestTooLarge(res.status, text);
      if (size.tooLarge) {
        const said = `HTTP ${res.status}: ${serverErrorText(text) || res.statusText}`;
        throw new RequestTooLargeError(scrub(`embedding ${opts.model} at ${endpoint} (${name}): ${said}`), res.status, scrub(said), size.maxBatch);
      }
      const failure = statusFailure(res, text, extra);
      throw fail(failure.message, failure.init);
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

  function withRetries(texts: string[], signal: AbortSignal | undefined): Promise<EmbedResult> {
    return retrying(() => attempt(texts, signal), {
      maxRetries,
      retryBaseMs,
      maxRetryDelayMs,
      ...(signal !== undefined && { signal }),
      shouldRetry: (err) => err instanceof EmbeddingError && err.retryable,
      aborted: (reason) => fail('aborted by caller', { retryable: false, cause: reason }),
    });
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
