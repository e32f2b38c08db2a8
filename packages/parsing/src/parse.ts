import type { ArchiveLimits } from './archive.js';
import { ParseError, fileTooLargeError } from './errors.js';
import { extensionOf, formatFor, supportedExtensions } from './formats/index.js';
import type { ByteSource } from './formats/pdf.js';
import { tableFormat } from './formats/table.js';
import { CHUNK_MODE, planParser } from './parsers.js';
import type { ParsedDocument } from './types.js';

/** RAGFlow's DOC_MAXIMUM_SIZE default (128 MiB). */
export const DEFAULT_MAX_BYTES = 128 * 1024 * 1024;
/** RAGFlow's "to the end" page bound for tasks over a whole document. */
export const LAST_PAGE = 100_000_000;

export interface ParseInput {
  /** file name as the user uploaded it; its extension picks the format */
  name: string;
  /** the whole file; may be left out when `source` is given */
  data?: Uint8Array;
  /**
   * random access to the file instead of `data`: a PDF task reads only what its pages need; any
   * other format gets the source read whole
   */
  source?: ByteSource;
  /** RAGFlow parser id ("naive", "general", ...); default "naive" */
  parserId?: string;
  parserConfig?: Record<string, unknown>;
  /** 0-based first page; default 0 */
  fromPage?: number;
  /** 0-based page to stop before; default 100000000 (the whole document) */
  toPage?: number;
  /** files larger than this are rejected with `too_large`; default 128 MiB */
  maxBytes?: number;
  /** expansion limits for DOCX/XLSX archives (zip-bomb guard); defaults in `ArchiveLimits` */
  archiveLimits?: ArchiveLimits;
}

function hasText(doc: ParsedDocument): boolean {
  return doc.sections.some((s) => s.text.trim().length > 0);
}

/** Decode and split a document into sections, by its extension. Throws ParseError for bad input. */
export async function parseDocument(input: ParseInput): Promise<ParsedDocument> {
  const { name } = input;
  const size = input.source?.size ?? input.data?.byteLength ?? 0;
  const parserId = input.parserId ?? 'naive';
  const fromPage = input.fromPage ?? 0;
  const toPage = input.toPage ?? LAST_PAGE;
  const maxBytes = input.maxBytes ?? DEFAULT_MAX_BYTES;

  const named = formatFor(name);
  if (!named) {
    const ext = extensionOf(name);
    throw new ParseError(
      'unsupported_format',
      `unsupported file type: ${name} has ${ext ? `extension ${ext}` : 'no extension'}; supported: ${supportedExtensions().join(', ')}`,
    );
  }
  const plan = planParser(parserId, named.id);
  // The table method reads plain text as a delimited table (RAGFlow's table parser on .txt).
  const format = plan.method === 'table' ? tableFormat : named;
  if (size > maxBytes) throw fileTooLargeError(name, size, maxBytes);
  if (!Number.isInteger(fromPage) || !Number.isInteger(toPage) || fromPage < 0 || toPage <= fromPage) {
    throw new ParseError('page_range', `invalid page range for ${name}: from ${fromPage} to ${toPage}`);
  }
  if (!format.paged && fromPage > 0) {
    throw new ParseError(
      'page_range',
      `invalid page range for ${name}: a ${format.id} file has no pages, so a task must start at page 0 (got ${fromPage})`,
    );
  }
  if (size === 0) throw new ParseError('empty', `empty file: ${name} has no text`);
  const source = format.readsRanges ? input.source : undefined;
  const data = input.data ?? (source ? new Uint8Array(0) : await input.source!.read(0, size));

  const doc = await format.parse({
    ...(source ? { source } : {}),
    name,
    data,
    parserId,
    parserConfig: input.parserConfig ?? {},
    fromPage,
    toPage,
    archiveLimits: input.archiveLimits,
  });
  if (!hasText(doc)) throw new ParseError('empty', `empty file: ${name} has no text`);
  doc.chunkMode = CHUNK_MODE[plan.method];
  if (plan.note) doc.notes.push(plan.note);
  return doc;
}
