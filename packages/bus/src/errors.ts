import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';

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

/**
 * JetStream API errors are told apart by their `err_code` (and the HTTP-like `code` the server
 * sends with it), never by their text: the text changes between server versions, and a missed
 * match once left a stream at its old limits and a republished task swallowed (RAGFlow #18942).
 * `JetStreamApiError.code` is the err_code; `.status` the HTTP-like code.
 */
export const JS_ERR = {
  ...JetStreamApiCodes,
  /** stream name already in use with a different configuration (e.g. another replica created it first) */
  StreamNameExist: 10058,
  /** a message over the stream's max_msg_size */
  StreamMessageExceedsMaximum: 10054,
} as const;

export function jsErrCode(err: unknown): number | undefined {
  return err instanceof JetStreamApiError ? err.code : undefined;
}

/** The stream, consumer or message asked for does not exist (err_code 10059/10014/10037, or HTTP-like 404). */
export function isJsNotFound(err: unknown): boolean {
  if (!(err instanceof JetStreamApiError)) return false;
  const code = err.code;
  return code === JS_ERR.StreamNotFound || code === JS_ERR.ConsumerNotFound || code === JS_ERR.NoMessageFound || err.status === 404;
}

/** A stream create lost the race with another replica creating the same stream. */
export function isJsStreamNameExists(err: unknown): boolean {
  return jsErrCode(err) === JS_ERR.StreamNameExist;
}

/** A compare-and-set write (KV update/create, expected last sequence) lost to a concurrent write. */
export function isJsWrongLastSequence(err: unknown): boolean {
  const code = jsErrCode(err);
  return code === JS_ERR.StreamWrongLastSequence || code === JS_ERR.StreamWrongLastSequenceUnknown;
}

/**
 * JetStream is off on the server or for the account: the client's JetStreamNotEnabled (a class the
 * package does not export, so told by its name) or err_code 10039.
 */
export function isJsNotEnabled(err: unknown): boolean {
  return (err instanceof Error && err.name === 'JetStreamNotEnabled') || jsErrCode(err) === JS_ERR.JetStreamNotEnabledForAccount;
}
