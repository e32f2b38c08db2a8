/**
 * Errors from the MySQL layer. Retryability is a property of the error: connection loss,
 * deadlocks and lock-wait timeouts are worth retrying, everything else (bad SQL, constraint
 * violations, access denied) is not.
 */
export class TaskDbError extends Error {
  override readonly name: string = 'TaskDbError';
  readonly retryable: boolean;
  /** driver error code, e.g. `ER_LOCK_DEADLOCK` or `ECONNREFUSED` */
  readonly code: string | undefined;

  constructor(message: string, opts: { retryable: boolean; code?: string; cause?: unknown }) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.retryable = opts.retryable;
    this.code = opts.code;
  }
}

/** A referenced row (tenant, knowledge base, document) does not exist. */
export class TaskDbNotFoundError extends TaskDbError {
  override readonly name = 'TaskDbNotFoundError';
  constructor(message: string) {
    super(message, { retryable: false, code: 'NOT_FOUND' });
  }
}

/** Codes that say the server cannot be reached or went away (not a problem of one statement). */
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'ENOTFOUND',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'ER_CON_COUNT_ERROR',
  'ER_SERVER_SHUTDOWN',
]);

/** Worth another try: the server is away, or the statement lost a race (deadlock, lock wait, interrupted). */
const RETRYABLE_CODES = new Set([
  ...UNAVAILABLE_CODES,
  'ER_LOCK_DEADLOCK',
  'ER_LOCK_WAIT_TIMEOUT',
  'ER_QUERY_INTERRUPTED',
  'ER_CLIENT_INTERACTION_TIMEOUT',
]);

/**
 * True when a taskdb call failed because MySQL is unreachable (refused, reset, timed out, shutting
 * down), as opposed to a deadlock or a bad statement: a caller should wait for the server, not
 * count the failure against the work it was doing.
 */
export function isTaskDbUnavailable(err: unknown): boolean {
  return err instanceof TaskDbError && err.code !== undefined && UNAVAILABLE_CODES.has(err.code);
}

/** Codes worth an immediate in-process retry of a whole transaction. */
export const TRANSACTION_RETRY_CODES = new Set(['ER_LOCK_DEADLOCK', 'ER_LOCK_WAIT_TIMEOUT']);

export function isRetryableCode(code: string | undefined): boolean {
  return code !== undefined && RETRYABLE_CODES.has(code);
}

function errorCode(err: unknown): string | undefined {
  if (err && typeof err === 'object' && 'code' in err && typeof (err as { code: unknown }).code === 'string') {
    return (err as { code: string }).code;
  }
  return undefined;
}

/**
 * Wraps any driver error into a TaskDbError whose message names the operation and never
 * contains the password (removed wherever it appears, e.g. in a connection URL).
 */
export function toTaskDbError(err: unknown, operation: string, secrets: readonly string[] = []): TaskDbError {
  if (err instanceof TaskDbError) return err;
  const code = errorCode(err);
  let detail = err instanceof Error ? err.message : String(err);
  // AggregateError (e.g. ECONNREFUSED on both IPv4 and IPv6) has an empty message.
  if (!detail && err instanceof AggregateError) detail = err.errors.map((e) => String(e?.message ?? e)).join('; ');
  if (!detail && code) detail = code;
  for (const secret of secrets) {
    if (secret) detail = detail.split(secret).join('***');
  }
  return new TaskDbError(`${operation} failed: ${detail}`, { retryable: isRetryableCode(code), code, cause: redactCause(err, secrets) });
}

/** The cause is kept for debugging but stripped of anything that could carry the password. */
function redactCause(err: unknown, secrets: readonly string[]): unknown {
  if (!(err instanceof Error)) return undefined;
  if (secrets.every((s) => !s || !err.message.includes(s))) return err;
  const copy = new Error('[redacted]');
  copy.name = err.name;
  return copy;
}
