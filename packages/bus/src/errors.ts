/**
 * Retryability is a property of the error (as in Temporal's SDK): the consumer loop maps
 * retryable -> nak with delay, not retryable -> dead letter + term.
 */
export class PermanentError extends Error {
  override name = 'PermanentError';
  readonly retryable = false;
}

export class RetryableError extends Error {
  override name = 'RetryableError';
  readonly retryable = true;
  constructor(
    message: string,
    /** how long to wait before the next delivery, when the cause says (e.g. Retry-After) */
    readonly retryAfterMs?: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** The message would exceed the server's max_payload: a bug in batching, never retried. */
export class MessageTooLargeError extends PermanentError {
  override name = 'MessageTooLargeError';
  constructor(
    readonly subject: string,
    readonly bytes: number,
    readonly limit: number,
  ) {
    super(`message for ${subject} is ${bytes} bytes, over the server's max_payload of ${limit}`);
  }
}

/** Stream or consumer exists with a config that cannot be changed in place. */
export class TopologyError extends Error {
  override name = 'TopologyError';
  readonly retryable = false;
}

/** Errors without an explicit `retryable` flag are treated as transient. */
export function isRetryable(err: unknown): boolean {
  if (err && typeof err === 'object' && 'retryable' in err) return Boolean((err as { retryable: unknown }).retryable);
  return true;
}

export function retryAfterOf(err: unknown): number | undefined {
  if (err && typeof err === 'object' && 'retryAfterMs' in err) {
    const v = (err as { retryAfterMs: unknown }).retryAfterMs;
    return typeof v === 'number' && v >= 0 ? v : undefined;
  }
  return undefined;
}

export function errorInfo(err: unknown): { name: string; message: string; retryable: boolean } {
  const e = err instanceof Error ? err : new Error(String(err));
  return { name: e.name, message: e.message, retryable: isRetryable(err) };
}
