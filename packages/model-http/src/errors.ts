/** What a failed model call says about itself; every client's error class carries these. */
export interface ModelErrorInit {
  status?: number;
  retryable: boolean;
  /** the server's Retry-After, when it sent one */
  retryAfterMs?: number;
  cause?: unknown;
}

/** Builds a client's own error class (EmbeddingError, ChatError, ...) from a message and its classification. */
export type MakeModelError = (message: string, init: ModelErrorInit) => Error;

/** The generic model-call failure, for callers without an error class of their own. */
export class ModelCallError extends Error {
  override readonly name: string = 'ModelCallError';
  readonly status?: number;
  readonly retryable: boolean;
  readonly retryAfterMs?: number;

  constructor(message: string, opts: ModelErrorInit) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    if (opts.status !== undefined) this.status = opts.status;
    this.retryable = opts.retryable;
    if (opts.retryAfterMs !== undefined) this.retryAfterMs = opts.retryAfterMs;
  }
}

/** Errors say whether they are worth retrying; one without the flag (a bug, a plain Error) is taken as transient. */
export function isRetryableError(err: unknown): boolean {
  if (err && typeof err === 'object' && 'retryable' in err) return Boolean((err as { retryable: unknown }).retryable);
  return true;
}

export function retryAfterMsOf(err: unknown): number | undefined {
  if (err && typeof err === 'object' && 'retryAfterMs' in err) {
    const v = (err as { retryAfterMs: unknown }).retryAfterMs;
    return typeof v === 'number' && v >= 0 ? v : undefined;
  }
  return undefined;
}
