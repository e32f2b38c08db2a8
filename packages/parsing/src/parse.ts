import type { ArchiveLimits } from './archive.js';
import { ParseError, fileTooLargeError } from './errors.js';
import type { ByteSource } from './byte-source.js';
import type { ParseHooks } from './ocr/hooks.js';
import { SNIFF_BYTES, sniffFormat, unsupportedFormatError, type FormatChoice } from './formats/sniff.js';
import { extensionOf } from './formats/index.js';
import { audioUnavailableError } from './methods/unavailable.js';
import { tableFormat } from './formats/table.js';
import { methodFor } from './methods/index.js';
import { CHUNK_MODE, planParser, type BuiltinMethod } from './parsers.js';
import type { ParsedDocument } from './types.js';

/** RAGFlow's DOC_MAXIMUM_SIZE default (128 MiB). */
export const DEFAULT_MAX_BYTES = 128 * 1024 * 1024;
/** RAGFlow's "to the end" page bound for tasks over a whole document. */
export const LAST_PAGE = 100_000_000;

export interface ParseInput {
  /** file name as the user uploaded it; its extension picks the format unless the bytes say otherwise (see `sniffFormat`) */
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
  /** per-page progress, cancellation between pages and the replica's OCR slots; not data (the sandbox passes them as messages) */
  hooks?: ParseHooks;
}

/**
 * Audio by name: RAGFlow's aural extensions (api/utils/file_utils.py filename_type, which gives such
 * files the audio parser at upload, and rag/app/audio.py's list) plus common containers (m4a, wma...).
 */
const AUDIO_EXTENSIONS = new Set(
  ['wav', 'wave', 'flac', 'ape', 'alac', 'wavpack', 'wv', 'mp3', 'aac', 'ogg', 'oga', 'vorbis', 'opus', 'm4a', 'aiff', 'aif', 'au', 'wma', 'mid', 'midi', 'amr', 'da', 'vqf'].map(
    (e) => `.${e}`,
  ),
);

/** parser ids under which an audio file gets the audio method's message: audio, and the default naive (general its alias) */
const AUDIO_PARSERS = new Set(['audio', 'naive', 'general']);

/** An audio file, by its extension or (for a misnamed one) by the signature its bytes carry. */
function isAudio(name: string, choice: FormatChoice): boolean {
  if (choice.content.kind === 'binary' && choice.content.mime.startsWith('audio/')) return true;
  return AUDIO_EXTENSIONS.has(extensionOf(name));
}

function hasText(doc: ParsedDocument): boolean {
  return doc.sections.some((s) => s.text.trim().length > 0);
}

/**
 * The format from the name and the bytes: the whole file when it is in memory, else its first
 * bytes; only a PDF is read by ranges, so for anything else the whole file is read and sniffed
 * again (a zip's Office kind may need more than its first bytes). Files over the limit are not read.
 */
async function chooseFormat(input: ParseInput, size: number, maxBytes: number): Promise<{ choice: FormatChoice; data?: Uint8Array }> {
  if (input.data) return { choice: await sniffFormat(input.name, input.data, { size }) };
  const source = input.source!;
  const head = size > 0 ? await source.read(0, Math.min(size, SNIFF_BYTES)) : new Uint8Array(0);
  const choice = await sniffFormat(input.name, head, { size });
  if (choice.format?.readsRanges || size > maxBytes) return { choice };
  if (size <= head.byteLength) return { choice, data: head };
  const data = await source.read(0, size);
  return { choice: await sniffFormat(input.name, data, { size }), data };
}

/** Decode and split a document into sections, in the format its name and bytes say. Throws ParseError for bad input. */
export async function parseDocument(input: ParseInput): Promise<ParsedDocument> {
  const { name } = input;
  const size = input.source?.size ?? input.data?.byteLength ?? 0;
  const parserId = input.parserId ?? 'naive';
  const fromPage = input.fromPage ?? 0;
  const toPage = input.toPage ?? LAST_PAGE;
  const maxBytes = input.maxBytes ?? DEFAULT_MAX_BYTES;

  const { choice, data: read } = await chooseFormat(input, size, maxBytes);
  const named = choice.format;
  if (!named) {
    // RAGFlow gives an audio upload the audio parser; under it (or the default naive) say that no
    // speech-to-text model runs here, not that the type is unknown
    if (AUDIO_PARSERS.has(parserId.trim().toLowerCase() || 'naive') && isAudio(name, choice)) throw audioUnavailableError(name);
    throw unsupportedFormatError(name, choice);
  }
  const plan = planParser(parserId, named.id);
  // The table method reads plain text as a delimited table (RAGFlow's table parser on .txt).
  const module = methodFor(plan.method);
  const format = plan.method === 'table' ? tableFormat : (module?.formatFor?.(named) ?? named);
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
  const data = input.data ?? read ?? (source ? new Uint8Array(0) : await input.source!.read(0, size));

  const doc = await format.parse({
    ...(source ? { source } : {}),
    name,
    data,
    parserId,
    parserConfig: input.parserConfig ?? {},
    fromPage,
    toPage,
    archiveLimits: input.archiveLimits,
    ...(input.hooks ? { hooks: input.hooks } : {}),
  });
  // the notes say why (pages without a text layer that were not OCR'd, say)
  if (!hasText(doc)) throw new ParseError('empty', `empty file: ${name} has no text${doc.notes.length > 0 ? ` (${doc.notes.join('; ')})` : ''}`);
  if (module) doc.method = module.id;
  else doc.chunkMode = CHUNK_MODE[plan.method as BuiltinMethod];
  if (plan.note) doc.notes.push(plan.note);
  return doc;
}
