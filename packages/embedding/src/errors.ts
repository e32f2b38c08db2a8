/**
 * An embedding call failed. Retryability is a property of the error: the embedder naks a retryable
 * failure (optionally after `retryAfterMs`) and dead-letters a permanent one.
 */
export class EmbeddingError extends Error {
  override readonly name: string = 'EmbeddingError';
  readonly status?: number;
  readonly retryable: boolean;
  /** the server's Retry-After, when it sent one */
  readonly retryAfterMs?: number;

  constructor(message: string, opts: { status?: number; retryable: boolean; retryAfterMs?: number; cause?: unknown }) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    if (opts.status !== undefined) this.status = opts.status;
    this.retryable = opts.retryable;
    if (opts.retryAfterMs !== undefined) this.retryAfterMs = opts.retryAfterMs;
  }
}
