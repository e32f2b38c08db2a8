import type { ParseErrorCode } from '../errors.js';
import type { ParseInput } from '../parse.js';
import type { ParsedDocument } from '../types.js';

/** What the sandbox sends a worker to parse: ParseInput with the file as bytes or as a size to read ranges of. */
export type ParseJob = Omit<ParseInput, 'data' | 'source'> & {
  /** the whole file, or... */
  data?: Uint8Array;
  /** ...the size of a file the worker reads in ranges through `read` messages */
  sourceSize?: number;
};

export interface SerializedError {
  name: string;
  message: string;
  /** ParseError code when the error was a ParseError */
  code?: ParseErrorCode;
  retryable?: boolean;
}

export type ToWorker =
  | { type: 'parse'; job: ParseJob }
  | { type: 'range'; reqId: number; data?: Uint8Array; error?: string };

export type FromWorker =
  | { type: 'ready' }
  | { type: 'read'; reqId: number; offset: number; length: number }
  | { type: 'done'; doc: ParsedDocument }
  | { type: 'failed'; error: SerializedError };
