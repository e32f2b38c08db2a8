/** Why a document could not be parsed. None of these get better by retrying the same bytes. */
export type ParseErrorCode =
  | 'empty'
  | 'binary'
  | 'encoding'
  | 'unsupported_format'
  | 'corrupt'
  | 'too_large'
  | 'page_range'
  /** the PDF needs a password to open */
  | 'encrypted'
  /** the parse sandbox stopped a parse that ran past its time limit */
  | 'time_limit'
  /** the parse sandbox stopped a parse that ran out of its memory ceiling */
  | 'memory_limit'
  /** the task was cancelled while it was being parsed (the parse stopped between pages) */
  | 'cancelled';

/**
 * A problem with the document itself (not with the service): the message says what is wrong and
 * what the user can do, and is safe to show on the task's progress line.
 */
export class ParseError extends Error {
  override readonly name = 'ParseError';
  readonly retryable = false;
  constructor(
    readonly code: ParseErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The one message for a file over the size limit, wherever the limit is hit (object fetch or parse). */
export function fileTooLargeError(name: string, size: number, maxBytes: number): ParseError {
  return new ParseError('too_large', `file too large: ${name} is ${size} bytes, the limit is ${maxBytes} bytes. Split the file and upload the parts.`);
}

/** The hashing module was used before `initHashing()` resolved: a programming error, not bad input. */
export class HashingNotInitializedError extends Error {
  override readonly name = 'HashingNotInitializedError';
  readonly retryable = false;
  constructor() {
    super('chunkId() called before initHashing() resolved: await initHashing() once at startup');
  }
}
