import { CircuitBreaker, EmbeddingError, type EmbeddingBackend, type EmbedResult } from '@ragline/embedding';
import { ATTR, SpanKind, context, recordError, trace, type Link, type Span, type Tracer } from '@ragline/telemetry';

export interface CoalescerOptions {
  /** texts per model call (EMBEDDING_BATCH_SIZE); default 16 */
  batchSize?: number;
  /** how long a partly filled call waits for more texts (EMBEDDING_MAX_WAIT_MS); default 5 */
  maxWaitMs?: number;
  /** model calls in flight at once for this backend (EMBEDDING_CALL_CONCURRENCY); default 4 */
  concurrency?: number;
  /** guards every call; none when unset */
  breaker?: CircuitBreaker;
  /** call spans (each linked to the spans of the requests it served); none when unset */
  tracer?: Tracer;
}

export interface CoalescerStats {
  /** model calls made (isolation re-runs included) */
  calls: number;
  /** texts sent to the model */
  texts: number;
  /** embed() requests served */
  requests: number;
  /** model calls that carried texts of more than one request */
  sharedCalls: number;
  inFlight: number;
  maxInFlight: number;
}

interface Request {
  texts: string[];
  vectors: Float32Array[];
  tokens: number;
  /** index of the first text not yet handed to a call */
  next: number;
  /** texts whose vectors have not arrived */
  outstanding: number;
  enqueuedAt: number;
  span: Span | undefined;
  done: boolean;
  resolve(r: EmbedResult): void;
  reject(e: unknown): void;
  cleanup(): void;
}

interface Segment {
  req: Request;
  start: number;
  end: number;
}

function positiveInt(name: string, v: number, min = 1): number {
  if (!Number.isInteger(v) || v < min) throw new RangeError(`${name} must be an integer >= ${min}, got ${v}`);
  return v;
}

/** A permanent error that names a bad input rather than a bad server or key: worth isolating per request. */
function isInputError(err: unknown): boolean {
  if (!(err instanceof EmbeddingError) || err.retryable) return false;
  return err.status !== 401 && err.status !== 403;
}

/**
 * A process-wide front for one backend: texts from concurrent embed() calls (several batches, several
 * tasks) are merged into model calls of up to `batchSize` texts, sent when full or after `maxWaitMs`,
 * at most `concurrency` at a time. Each caller gets exactly its own vectors back, in order, and its
 * share of the reported tokens (split by text length when a call served several callers).
 * When a shared call fails permanently because of its input (400/413/422), each caller's texts are
 * re-sent alone so one task's bad chunk does not fail another task.
 */
export class CoalescingBackend implements EmbeddingBackend {
  readonly coalescing = true;
  readonly name: string;
  readonly model: string;
  readonly maxTokens: number;
  readonly stats: CoalescerStats = { calls: 0, texts: 0, requests: 0, sharedCalls: 0, inFlight: 0, maxInFlight: 0 };
  private readonly batchSize: number;
  private readonly maxWaitMs: number;
  private readonly concurrency: number;
  private readonly queue: Request[] = [];
  private queuedTexts = 0;
  private timer: NodeJS.Timeout | undefined;
  /** the model's vector size once a call learnt it */
  private knownDim: number | undefined;

  constructor(
    readonly inner: EmbeddingBackend,
    private readonly opts: CoalescerOptions = {},
  ) {
    this.name = inner.name;
    this.model = inner.model;
    this.maxTokens = inner.maxTokens;
    this.batchSize = positiveInt('batchSize', opts.batchSize ?? 16);
    this.maxWaitMs = positiveInt('maxWaitMs', opts.maxWaitMs ?? 5, 0);
    this.concurrency = positiveInt('concurrency', opts.concurrency ?? 4);
  }

  get breaker(): CircuitBreaker | undefined {
    return this.opts.breaker;
  }

  /**
   * The model's vector size. Only the call that learns it goes through the breaker: the embedder
   * asks before every batch, and a cached answer counted as a backend success would reset the
   * breaker's failure count each time, so under load it never opened however often the server failed.
   */
  dimension(): Promise<number> {
    if (this.knownDim !== undefined) return Promise.resolve(this.knownDim);
    const b = this.opts.breaker;
    const learn = b ? b.run(() => this.inner.dimension()) : this.inner.dimension();
    return learn.then((d) => (this.knownDim = d));
  }

  embed(texts: string[], signal?: AbortSignal): Promise<EmbedResult> {
    if (texts.length === 0) return Promise.resolve({ vectors: [], tokens: 0 });
    if (signal?.aborted) return Promise.reject(this.aborted(signal));
    this.stats.requests++;
    return new Promise<EmbedResult>((resolve, reject) => {
      const onAbort = () => {
        if (req.done) return;
        this.finish(req);
        reject(this.aborted(signal!));
      };
      const req: Request = {
        texts,
        vectors: new Array<Float32Array>(texts.length),
        tokens: 0,
        next: 0,
        outstanding: texts.length,
        enqueuedAt: Date.now(),
        span: trace.getSpan(context.active()),
        done: false,
        resolve,
        reject,
        cleanup: () => signal?.removeEventListener('abort', onAbort),
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.queue.push(req);
      this.queuedTexts += texts.length;
      this.pump();
    });
  }

  private aborted(signal: AbortSignal): EmbeddingError {
    return new EmbeddingError(`embedding ${this.model}: aborted by caller`, { retryable: false, cause: signal.reason });
  }

  /** Marks a request settled and drops its unsent texts from the queue. */
  private finish(req: Request): void {
    req.done = true;
    req.cleanup();
    const i = this.queue.indexOf(req);
    if (i >= 0) {
      this.queue.splice(i, 1);
      this.queuedTexts -= req.texts.length - req.next;
    }
  }

  private pump(): void {
    while (this.stats.inFlight < this.concurrency && this.queuedTexts > 0) {
      const oldest = this.queue[0]!;
      const due = oldest.enqueuedAt + this.maxWaitMs - Date.now();
      if (this.queuedTexts < this.batchSize && due > 0) {
        // wait a little for more texts to fill the call
        if (!this.timer) {
          this.timer = setTimeout(() => {
            this.timer = undefined;
            this.pump();
          }, due);
        }
        return;
      }
      const segments: Segment[] = [];
      let room = this.batchSize;
      while (room > 0 && this.queue.length > 0) {
        const req = this.queue[0]!;
        const take = Math.min(room, req.texts.length - req.next);
        segments.push({ req, start: req.next, end: req.next + take });
        req.next += take;
        room -= take;
        this.queuedTexts -= take;
        if (req.next === req.texts.length) this.queue.shift();
      }
      this.stats.inFlight++;
      this.stats.maxInFlight = Math.max(this.stats.maxInFlight, this.stats.inFlight);
      void this.runCall(segments).finally(() => {
        this.stats.inFlight--;
        this.pump();
      });
    }
    if (this.queuedTexts === 0 && this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
  }

  /** One model call for `segments`, with its own span linked both ways to the callers' spans. */
  private async call(segments: Segment[]): Promise<EmbedResult> {
    const texts = segments.flatMap((s) => s.req.texts.slice(s.start, s.end));
    const requests = new Set(segments.map((s) => s.req));
    this.stats.calls++;
    this.stats.texts += texts.length;
    if (requests.size > 1) this.stats.sharedCalls++;
    const tracer = this.opts.tracer;
    // several requests may come from one span (a batch's title and contents)
    const callers = new Set<Span>();
    for (const r of requests) if (r.span) callers.add(r.span);
    const links: Link[] = [...callers].map((s) => ({ context: s.spanContext() }));
    const span = tracer?.startSpan(
      'embedding call',
      {
        kind: SpanKind.CLIENT,
        links,
        attributes: { [ATTR.model]: this.model, 'ragline.embedding.backend': this.name, 'ragline.embedding.texts': texts.length, 'ragline.embedding.requests': requests.size },
      },
      // a root of its own: the call serves several traces, each linked rather than parented
      trace.deleteSpan(context.active()),
    );
    if (span) for (const caller of callers) caller.addLink({ context: span.spanContext(), attributes: { 'ragline.embedding.texts': texts.length } });
    try {
      const run = () => this.inner.embed(texts);
      const result = this.opts.breaker ? await this.opts.breaker.run(run) : await run();
      if (result.vectors.length !== texts.length) {
        throw new EmbeddingError(`backend ${this.name} returned ${result.vectors.length} vectors for ${texts.length} texts`, { retryable: false });
      }
      span?.setAttribute(ATTR.tokenCount, result.tokens);
      return result;
    } catch (err) {
      if (span) recordError(span, err);
      throw err;
    } finally {
      span?.end();
    }
  }

  private async runCall(segments: Segment[]): Promise<void> {
    let result: EmbedResult;
    try {
      result = await this.call(segments);
    } catch (err) {
      const requests = [...new Set(segments.map((s) => s.req))];
      if (requests.length > 1 && isInputError(err)) {
        for (const req of requests) await this.runCall(segments.filter((s) => s.req === req));
        return;
      }
      for (const req of requests) {
        if (req.done) continue;
        this.finish(req);
        req.reject(err);
      }
      return;
    }
    this.deliver(segments, result);
  }

  private deliver(segments: Segment[], result: EmbedResult): void {
    const lengths = segments.map((s) => s.req.texts.slice(s.start, s.end).reduce((n, t) => n + t.length + 1, 0));
    const totalChars = lengths.reduce((a, b) => a + b, 0);
    let offset = 0;
    let tokensLeft = result.tokens;
    segments.forEach((s, i) => {
      const n = s.end - s.start;
      const share = i === segments.length - 1 ? tokensLeft : Math.floor((result.tokens * lengths[i]!) / totalChars);
      tokensLeft -= share;
      const req = s.req;
      if (!req.done) {
        for (let k = 0; k < n; k++) req.vectors[s.start + k] = result.vectors[offset + k]!;
        req.tokens += share;
        req.outstanding -= n;
        if (req.outstanding === 0) {
          this.finish(req);
          req.resolve({ vectors: req.vectors, tokens: req.tokens });
        }
      }
      offset += n;
    });
  }
}
