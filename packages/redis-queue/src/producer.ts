import type { Redis } from 'ioredis';
import { keyPrefixOf, sendRaw } from './connection.js';
import { toQueueError } from './errors.js';
import { pythonJsonDumps } from './json.js';

export interface EnqueueOptions {
  /** W3C trace context, stored as extra entry fields (RAGFlow ignores them) */
  traceparent?: string;
  tracestate?: string;
}

export interface RagflowQueueProducerOptions {
  /** XADD attempts before giving up; default 3 (RAGFlow's queue_product) */
  attempts?: number;
  /** pause between attempts, doubled each time; default 200 */
  retryDelayMs?: number;
}

/** Enqueues tasks the way RAGFlow's API server does: `XADD <stream> * message <json.dumps(task)>`. */
export class RagflowQueueProducer {
  private readonly attempts: number;
  private readonly retryDelayMs: number;

  constructor(
    private readonly redis: Redis,
    opts: RagflowQueueProducerOptions = {},
  ) {
    this.attempts = Math.max(1, opts.attempts ?? 3);
    this.retryDelayMs = opts.retryDelayMs ?? 200;
  }

  /** Returns the new entry id. Throws QueueError after the last failed attempt. */
  async enqueue(stream: string, message: Record<string, unknown>, opts: EnqueueOptions = {}): Promise<string> {
    const args = [keyPrefixOf(this.redis) + stream, '*', 'message', pythonJsonDumps(message)];
    if (opts.traceparent) args.push('traceparent', opts.traceparent);
    if (opts.tracestate) args.push('tracestate', opts.tracestate);
    let lastError: unknown;
    for (let attempt = 1; attempt <= this.attempts; attempt++) {
      try {
        return String(await sendRaw(this.redis, 'xadd', args));
      } catch (err) {
        lastError = err;
        const error = toQueueError(err, `XADD ${stream}`);
        if (!error.retryable || attempt === this.attempts) throw error;
        await new Promise((resolve) => setTimeout(resolve, this.retryDelayMs * 2 ** (attempt - 1)));
      }
    }
    throw toQueueError(lastError, `XADD ${stream}`);
  }
}
