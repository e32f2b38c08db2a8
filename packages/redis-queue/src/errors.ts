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

/**
 * The error code of a Redis reply error: the first word after "-" (the Redis protocol's error kind:
 * WRONGTYPE, NOGROUP, BUSYGROUP, LOADING...). Undefined for anything that is not a server reply
 * (connection errors, client-side errors). Callers match codes, never the rest of the text.
 */
export function redisErrorCode(err: unknown): string | undefined {
  const e = err instanceof QueueError && err.cause !== undefined ? err.cause : err;
  if (!(e instanceof Error) || e.name !== 'ReplyError') return undefined;
  const code = /^[A-Z][A-Z_-]*/.exec(e.message)?.[0];
  return code;
}

/** Reply codes about the request itself: the same call can never succeed. */
const PERMANENT_CODES = new Set(['WRONGTYPE', 'NOPERM', 'NOSCRIPT', 'NOAUTH', 'WRONGPASS']);

/**
 * Redis reply errors about the request itself are permanent; everything else (network, LOADING,
 * READONLY failover, timeouts, the generic ERR whose only code is "ERR") is transient.
 */
export function toQueueError(err: unknown, what: string): QueueError {
  if (err instanceof QueueError) return err;
  const message = err instanceof Error ? err.message : String(err);
  const code = redisErrorCode(err);
  return new QueueError(`${what}: ${message}`, !(code && PERMANENT_CODES.has(code)), { cause: sanitizedCause(err) });
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

/**
 * XREADGROUP / XAUTOCLAIM / XPENDING on a stream (or group) that was deleted: reply code NOGROUP.
 * XINFO on a missing key only answers the generic "ERR", so callers check the key's TYPE first
 * (`streamExists`) instead of reading error text.
 */
export function isMissingStreamError(err: unknown): boolean {
  return redisErrorCode(err) === 'NOGROUP';
}

/** A consumer group create for a group that exists: reply code BUSYGROUP. */
export function isBusyGroupError(err: unknown): boolean {
  return redisErrorCode(err) === 'BUSYGROUP';
}

/** Replies of a server that is up but cannot serve yet: loading its data after a restart, or no master. */
/** ioredis's CONNECTION_CLOSED_ERROR_MSG (lib/utils/index.ts) */
const CONNECTION_CLOSED = 'Connection is closed.';

const UNAVAILABLE_CODES = new Set(['LOADING', 'MASTERDOWN', 'TRYAGAIN', 'CLUSTERDOWN']);

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
  const code = redisErrorCode(e);
  if (code) return UNAVAILABLE_CODES.has(code);
  // ioredis's own errors for a dropped connection: a class for the retry limit, and for a closed
  // connection a plain Error whose text is ioredis's constant CONNECTION_CLOSED_ERROR_MSG (no code to match)
  return e.name === 'MaxRetriesPerRequestError' || e.message === CONNECTION_CLOSED;
}
