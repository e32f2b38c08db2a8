import type { ArchiveLimits } from '../archive.js';
import type { ParsedDocument } from '../types.js';
import type { ByteSource } from '../byte-source.js';
import type { ParseHooks } from '../ocr/hooks.js';

/** What every format parser receives; the bytes are the whole file. */
export interface FormatInput {
  name: string;
  data: Uint8Array;
  parserId: string;
  parserConfig: Record<string, unknown>;
  /** 0-based first page to parse (paged formats) */
  fromPage: number;
  /** 0-based page to stop before (paged formats) */
  toPage: number;
  /** random access to the file, given to formats with `readsRanges` instead of the bytes (`data` is then empty) */
  source?: ByteSource;
  /** expansion limits for zip-based formats (DOCX, XLSX); defaults in `inspectArchive` */
  archiveLimits?: ArchiveLimits;
  /** per-page progress, cancellation and OCR slots (PDF pages and images) */
  hooks?: ParseHooks;
}

/** One file format. Adding a format = one module under formats/ plus one row in formats/index.ts. */
export interface FormatParser {
  /** short id reported as ParsedDocument.format */
  readonly id: string;
  /** lower-case file extensions with the dot, e.g. ".md" */
  readonly extensions: readonly string[];
  /**
   * Whether from/to page select part of the file (PDF pages; for RAGFlow's table parser the
   * "pages" are spreadsheet rows). Unpaged formats reject a task that starts past page 0, since
   * RAGFlow makes one task for the whole of such a file.
   */
  readonly paged: boolean;
  /** reads `FormatInput.source` by ranges when it is given (PDF: a task reads only its pages) */
  readonly readsRanges?: boolean;
  parse(input: FormatInput): Promise<ParsedDocument>;
}
