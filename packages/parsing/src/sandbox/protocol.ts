import type { ParseErrorCode } from '../errors.js';
import type { PageProgress } from '../ocr/hooks.js';
import type { ParseInput } from '../parse.js';
import type { ParsedDocument } from '../types.js';

/** What the sandbox sends a worker to parse: ParseInput with the file as bytes or as a size to read ranges of. */
export type ParseJob = Omit<ParseInput, 'data' | 'source' | 'hooks'> & {
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
  | { type: 'range'; reqId: number; data?: Uint8Array; error?: string }
  /** the task was cancelled: stop before the next page */
  | { type: 'cancel' }
  /** an OCR slot the worker asked for is its own until it sends `ocr-release` */
  | { type: 'ocr-granted'; reqId: number };

export type FromWorker =
  | { type: 'ready' }
  | { type: 'read'; reqId: number; offset: number; length: number }
  | { type: 'page'; progress: PageProgress }
  /** asks for one of the replica's OCR slots (the sandbox's `ocrConcurrency`) */
  | { type: 'ocr-slot'; reqId: number }
  | { type: 'ocr-release'; reqId: number }
  | { type: 'done'; doc: ParsedDocument }
  | { type: 'failed'; error: SerializedError };
