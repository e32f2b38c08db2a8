import { fileTypeFromBuffer } from 'file-type';
import { decodeText } from '../decode.js';
import { ParseError } from '../errors.js';
import { docxFormat } from './docx.js';
import { emlFormat, looksLikeMessage } from './eml.js';
import type { FormatParser } from './format.js';
import { htmlFormat } from './html.js';
import { IMAGE_SIGNATURES, imageFormat } from './image.js';
import { FORMATS, extensionOf, formatFor, supportedExtensions } from './index.js';
import { jsonFormat, jsonlFormat } from './json.js';
import { markdownFormat } from './markdown.js';
import { pdfFormat } from './pdf.js';
import { pptxFormat } from './pptx.js';
import { tableFormat } from './table.js';
import { textFormat } from './text.js';

/** Leading bytes file-type needs to recognise a signature (its own "reasonable detection size"). */
export const SNIFF_BYTES = 4100;

/** What a file's bytes are, independent of its name. */
export type SniffedContent =
  /** a binary signature file-type knows; `format` when a parser reads it */
  | { kind: 'binary'; ext: string; mime: string; format?: FormatParser }
  /** decodable text; `guess` is the format its content looks like */
  | { kind: 'text'; encoding: string; guess: FormatParser }
  /** neither a known signature nor decodable text */
  | { kind: 'unknown' };

export interface FormatChoice {
  /** the parser to use; absent when no parser reads the file */
  format?: FormatParser;
  content: SniffedContent;
  /** what decided: the name's extension (bytes agree, or say no more than "text"), or the bytes */
  by: 'extension' | 'content';
}

export interface SniffOptions {
  /** size of the whole file when `bytes` is only its start; default bytes.length */
  size?: number;
}

/** Signatures a parser reads. An Illustrator file is a PDF with extra private data. */
const SIGNATURE_FORMATS = new Map<string, FormatParser>([
  ['pdf', pdfFormat],
  ['ai', pdfFormat],
  ['docx', docxFormat],
  ['xlsx', tableFormat],
  ['xlsm', tableFormat],
  ['pptx', pptxFormat],
  // images are read by OCR
  ...IMAGE_SIGNATURES.map((ext) => [ext, imageFormat] as const),
]);

/** Signatures of two bytes ("BM") that text can start with: such bytes are an image only if they are not text. */
const WEAK_SIGNATURES = new Set(['bmp']);

/**
 * Containers a DOCX/XLSX/XLS name may legitimately hold: a zip whose first bytes do not show its
 * Office kind, or an OLE2 file (legacy .xls, password-protected OOXML). Those parsers look inside
 * and say what is wrong, so such a name keeps its format.
 */
const OFFICE_CONTAINERS = new Set(['zip', 'cfb']);
const OFFICE_FORMATS = new Set<FormatParser>([docxFormat, tableFormat, pptxFormat]);

async function signatureOf(bytes: Uint8Array): Promise<{ ext: string; mime: string } | undefined> {
  try {
    return await fileTypeFromBuffer(bytes);
  } catch {
    // a damaged header file-type gives up on is no signature at all
    return undefined;
  }
}

function decodedHead(head: Uint8Array): { text: string; encoding: string } | undefined {
  try {
    return decodeText(head);
  } catch (err) {
    if (err instanceof ParseError) return undefined;
    throw err;
  }
}

const HTML_START = /^(?:<\?xml[^>]*>\s*)?(?:<!--[\s\S]*?-->\s*)*(?:<!doctype\s+html\b|<html\b|<head\b|<body\b)/i;

/**
 * Whether `text` is the start of a JSON document. A cut-off document fails to parse at (or a few
 * characters before, inside an escape or a split character) its end; prose fails early.
 */
function jsonPrefix(text: string, complete: boolean): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch (err) {
    if (complete) return false;
    const message = (err as Error).message;
    if (/Unexpected end of JSON input/.test(message)) return true;
    const at = /at position (\d+)/.exec(message);
    return at !== null && Number(at[1]) >= text.trimEnd().length - 16;
  }
}

/** Complete lines of `text` (the last one is cut off when the bytes were only the file's start). */
function wholeLines(text: string, complete: boolean): string[] {
  const lines = text.split(/\r?\n/);
  if (!complete) lines.pop();
  return lines.filter((l) => l.trim() !== '');
}

function isJsonContainer(line: string): boolean {
  try {
    const v: unknown = JSON.parse(line);
    return typeof v === 'object' && v !== null;
  } catch {
    return false;
  }
}

/** Fields of a delimited line, with double-quoted fields holding the delimiter. */
function fieldCount(line: string, delimiter: string): number {
  let fields = 1;
  let quoted = false;
  for (const ch of line) {
    if (ch === '"') quoted = !quoted;
    else if (ch === delimiter && !quoted) fields++;
  }
  return fields;
}

/**
 * CSV/TSV: at least three lines with the same number (two or more) of fields. Prose rarely keeps
 * its comma count constant line after line. The table reader picks tab or comma, so only those.
 */
function looksDelimited(lines: readonly string[]): boolean {
  const sample = lines.slice(0, 50);
  if (sample.length < 3) return false;
  return ['\t', ','].some((d) => {
    const n = fieldCount(sample[0]!, d);
    return n >= 2 && sample.every((l) => fieldCount(l, d) === n);
  });
}

/**
 * Markdown: two of its distinctive constructs (ATX heading, fenced code, inline link, table rule),
 * or one of them with a list item or inline emphasis/code. Plain text has none of the former.
 */
function looksMarkdown(text: string): boolean {
  const strong = [
    /^#{1,6}[ \t]+\S/m,
    /^(?:```|~~~)/m,
    /!?\[[^\]\n]+\]\([^)\s]+\)/,
    /^\|?[ \t]*:?-{3,}:?[ \t]*(?:\|[ \t]*:?-{3,}:?[ \t]*)+\|?[ \t]*$/m,
  ].filter((re) => re.test(text)).length;
  const weak = [/^[ ]{0,3}[-*+][ \t]+\S/m, /\*\*[^*\n]+\*\*|`[^`\n]+`/].filter((re) => re.test(text)).length;
  return strong >= 2 || (strong === 1 && weak >= 1);
}

/** The format text content looks like; plain text when nothing more specific fits. */
export function guessTextFormat(text: string, complete = true): FormatParser {
  const lead = text.replace(/^\uFEFF/, '').trimStart();
  if (HTML_START.test(lead)) return htmlFormat;
  if ((lead.startsWith('{') || lead.startsWith('[')) && jsonPrefix(lead, complete)) return jsonFormat;
  if (looksLikeMessage(lead, complete)) return emlFormat;
  const lines = wholeLines(lead, complete);
  if (lines.length > 0 && (lines.length >= 2 || !complete) && lines.every(isJsonContainer)) return jsonlFormat;
  if (looksDelimited(lines)) return tableFormat;
  if (looksMarkdown(lead)) return markdownFormat;
  return textFormat;
}

/**
 * What the bytes are: a binary signature (file-type, from the first SNIFF_BYTES), else text if the
 * project's decoder reads them (BOMs, UTF-8, UTF-16, GB18030 and the other encodings it detects),
 * else unknown. `bytes` may be the whole file or its start (then give `size`).
 */
export async function sniffContent(bytes: Uint8Array, opts: SniffOptions = {}): Promise<SniffedContent> {
  const head = bytes.subarray(0, SNIFF_BYTES);
  const complete = head.byteLength >= (opts.size ?? bytes.byteLength);
  let type = await signatureOf(head);
  // A zip's Office kind can sit past the first bytes (its [Content_Types].xml or word/ entry comes
  // late); given more of the file, file-type walks the entries (with its own size limits).
  if (type?.ext === 'zip' && bytes.byteLength > head.byteLength) type = (await signatureOf(bytes)) ?? type;
  const format = type ? SIGNATURE_FORMATS.get(type.ext) : undefined;
  if (type && format && !(WEAK_SIGNATURES.has(type.ext) && decodedHead(head))) return { kind: 'binary', ext: type.ext, mime: type.mime, format };
  // file-type also names text formats (XML, RTF, iCalendar) and short magic numbers plain text
  // can start with ("MZ", "BM"); bytes that decode as text are text
  const text = decodedHead(head);
  if (text) return { kind: 'text', encoding: text.encoding, guess: guessTextFormat(text.text, complete) };
  if (type) return { kind: 'binary', ext: type.ext, mime: type.mime };
  return { kind: 'unknown' };
}

/**
 * The format to parse a file with, from its name and its bytes. A binary signature beats the
 * extension (a PDF named .txt is a PDF; a PNG named .txt is refused as a PNG), except that an
 * Office name keeps its format for a zip or OLE2 container its parser examines. Text content is
 * weaker evidence (it is what is left when no signature matches), so it decides only for a name
 * without an extension; a known extension on text keeps today's format (.md, .txt, .csv...).
 */
export async function sniffFormat(name: string, bytes: Uint8Array, opts: SniffOptions = {}): Promise<FormatChoice> {
  const named = formatFor(name);
  const content = await sniffContent(bytes, opts);
  if (content.kind === 'binary') {
    if (named && (named === content.format || (OFFICE_CONTAINERS.has(content.ext) && OFFICE_FORMATS.has(named)))) {
      return { format: named, content, by: 'extension' };
    }
    return { ...(content.format ? { format: content.format } : {}), content, by: 'content' };
  }
  if (named) return { format: named, content, by: 'extension' };
  if (extensionOf(name) !== '') return { content, by: 'extension' };
  return { ...(content.kind === 'text' ? { format: content.guess } : {}), content, by: 'content' };
}

/** Words for what the bytes are, for messages. */
export function describeContent(content: SniffedContent): string {
  switch (content.kind) {
    case 'binary':
      if (content.ext === 'zip') return 'a zip archive that is not a Word or Excel document (application/zip)';
      if (content.ext === 'cfb') {
        return 'an OLE2 compound file (application/x-cfb: a legacy .doc/.xls/.ppt file, or a password-protected Office file)';
      }
      return `${content.ext.toUpperCase()} data (${content.mime})`;
    case 'text':
      return `${content.guess.id} text (${content.encoding})`;
    case 'unknown':
      return 'binary data of no known type (neither a known file signature nor readable text)';
  }
}

/** "text, markdown, ... (.txt, .text, ...)": the formats a parser reads and their extensions. */
export function supportedFormatsText(): string {
  return `${FORMATS.map((f) => f.id).join(', ')} (${supportedExtensions().join(', ')})`;
}

/** The ParseError for a file no parser reads, naming what its extension or its bytes say it is. */
export function unsupportedFormatError(name: string, choice: FormatChoice): ParseError {
  if (choice.by === 'extension') {
    const ext = extensionOf(name);
    return new ParseError(
      'unsupported_format',
      `unsupported file type: ${name} has ${ext ? `extension ${ext}` : 'no extension'}; supported: ${supportedExtensions().join(', ')}`,
    );
  }
  return new ParseError(
    'unsupported_format',
    `unsupported file type: ${name} is ${describeContent(choice.content)} by its content, which no parser reads; supported formats: ${supportedFormatsText()}`,
  );
}
