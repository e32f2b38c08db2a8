/** A queue operation failed. `retryable` says whether the same call may succeed later (connection trouble) or not (bad data, wrong key type). */
export class QueueError extends Error {
  override name = 'QueueError';
  constructor(
    message: string,
    readonly retryable: boolean,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

const PERMANENT_REPLY = /^(WRONGTYPE|ERR (wrong number|syntax|Invalid|unknown command)|NOPERM|NOSCRIPT)/i;

/** Redis reply errors about the request itself are permanent; everything else (network, LOADING, READONLY failover, timeouts) is transient. */
export function toQueueError(err: unknown, what: string): QueueError {
  if (err instanceof QueueError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new QueueError(`${what}: ${message}`, !PERMANENT_REPLY.test(message), { cause: sanitizedCause(err) });
}

/**
 * ioredis reply errors carry the failed command with its arguments, and for AUTH/HELLO those are the
 * password; the cause keeps only name and message so printing the error can never leak it.
 */
function sanitizedCause(err: unknown): Error {
  const e = err instanceof Error ? err : new Error(String(err));
  const clean = new Error(e.message);
  clean.name = e.name;
  clean.stack = e.stack;
  return clean;
}

/** "NOGROUP No such key ..." (XREADGROUP/XAUTOCLAIM on a deleted stream) or "ERR no such key" (XINFO). */
export function isMissingStreamError(err: unknown): boolean {
  const message = err instanceof Error ? err.message : String(err);
  return /^NOGROUP\b/.test(message) || /no such key/i.test(message);
}

/** Replies of a server that is up but cannot serve yet: loading its data after a restart, or no master. */
const UNAVAILABLE_REPLY = /^(LOADING|MASTERDOWN|TRYAGAIN|CLUSTERDOWN)\b/;

/**
 * True when a Redis call failed because the server cannot be reached or is not serving yet (the
 * client ran out of reconnect attempts for the command, the connection closed, the server is
 * loading its AOF after a restart), as opposed to a bad command: callers should wait for Redis,
 * not count the failure against their work. Looks through QueueError to its cause. Socket error
 * codes (ECONNREFUSED...) are deliberately not enough: ioredis reports those as events, not command
 * errors, and other clients (MySQL) fail with the same codes.
 */
export function isRedisUnavailable(err: unknown): boolean {
  const e = err instanceof QueueError && err.cause !== undefined ? err.cause : err;
  if (!(e instanceof Error)) return false;
  return e.name === 'MaxRetriesPerRequestError' || /^Connection is closed/.test(e.message) || UNAVAILABLE_REPLY.test(e.message);
}
