import type { PDFDocumentLoadingTask, PDFDocumentProxy, PDFPageProxy } from 'pdfjs-dist/legacy/build/pdf.mjs';
import { fileURLToPath } from 'node:url';
import { ParseError } from '../errors.js';
import { DEFAULT_CHUNK_TOKEN_NUM } from '../merge.js';
import { countTokens } from '@ragline/tokenizer';
import type { ParsedDocument, Position, Section } from '../types.js';
import { bytesSource, type ByteSource } from '../byte-source.js';
import type { FormatInput, FormatParser } from './format.js';
import { ocrRequested } from '../ocr/config.js';
import { OcrError } from '../ocr/engine.js';
import type { ParseHooks } from '../ocr/hooks.js';
import { cancelledError, ocrPageSections } from '../ocr/pages.js';
import { DEFAULT_OCR_DPI, renderPage } from '../ocr/render.js';

export interface PdfOptions {
  /** file name, used in messages; default "document.pdf" */
  name?: string;
  /** 0-based first page; default 0 */
  fromPage?: number;
  /** 0-based page to stop before; default: the end of the document */
  toPage?: number;
  /** a text block is cut at a line boundary once it reaches this many tokens; default 512 */
  maxSectionTokens?: number;
  /** bytes per range request; default 64 KiB (pdf.js's default) */
  rangeChunkSize?: number;
  /** OCR pages without a usable text layer (see `needsOcr`); default true. `layout_recognize: "Plain Text"` turns it off */
  ocr?: boolean;
  /** resolution pages are rendered at for OCR; default 300 */
  ocrDpi?: number;
  /** per-page progress, cancellation between pages and the replica's OCR slots */
  hooks?: ParseHooks;
}

export const DEFAULT_PDF_RANGE_CHUNK = 64 * 1024;

type PdfJs = typeof import('pdfjs-dist/legacy/build/pdf.mjs');
/** pdf.js's own resources: the standard fonts a PDF may name without embedding, and its image decoders (JPEG 2000, JBIG2) in WebAssembly */
const PDFJS_DIR = new URL('./', import.meta.resolve('pdfjs-dist/package.json'));
let pdfjsModule: Promise<PdfJs> | undefined;
// pdf.js is several MB of code: load it on the first PDF only
function pdfjs(): Promise<PdfJs> {
  pdfjsModule ??= import('pdfjs-dist/legacy/build/pdf.mjs');
  return pdfjsModule;
}

interface OpenPdf {
  doc: PDFDocumentProxy;
  close(): Promise<void>;
  /** the first failure of the byte source, which wins over whatever pdf.js made of it */
  readFailure(): unknown;
  /** `work`, or the byte source's failure as soon as a read fails (pdf.js would wait for the bytes forever) */
  guard<T>(work: Promise<T>): Promise<T>;
}

async function openPdf(source: ByteSource, name: string, rangeChunkSize: number): Promise<OpenPdf> {
  const lib = await pdfjs();
  let failure: unknown;
  let fail: (err: unknown) => void = () => {};
  const failed = new Promise<never>((_, reject) => {
    fail = reject;
  });
  failed.catch(() => {});
  const guard = <T>(work: Promise<T>): Promise<T> => Promise.race([work, failed]);
  class SourceTransport extends lib.PDFDataRangeTransport {
    override requestDataRange(begin: number, end: number): void {
      source.read(begin, end - begin).then(
        // pdf.js transfers (detaches) the chunk's ArrayBuffer: hand it a copy (Buffer#slice would not copy)
        (chunk) => this.onDataRange(begin, new Uint8Array(chunk)),
        (err: unknown) => {
          failure ??= err;
          // pdf.js has no error path for a range transport, so the failure is raced against its promises
          fail(err);
        },
      );
    }
  }
  const transport = new SourceTransport(source.size, null);
  const task: PDFDocumentLoadingTask = lib.getDocument({
    range: transport,
    length: source.size,
    rangeChunkSize,
    disableAutoFetch: true,
    disableStream: true,
    verbosity: lib.VerbosityLevel.ERRORS,
    isEvalSupported: false,
    disableFontFace: true,
    useSystemFonts: false,
    stopAtErrors: false,
    // file paths: the Node build reads them with fs (a rendered page for OCR needs fonts and image decoders)
    standardFontDataUrl: fileURLToPath(new URL('standard_fonts/', PDFJS_DIR)),
    wasmUrl: fileURLToPath(new URL('wasm/', PDFJS_DIR)),
  });
  try {
    const doc = await guard(task.promise);
    return { doc, close: () => task.destroy(), readFailure: () => failure, guard };
  } catch (err) {
    await task.destroy().catch(() => {});
    if (failure !== undefined) throw failure;
    throw openError(err, name);
  }
}

function openError(err: unknown, name: string): ParseError {
  const kind = (err as { name?: string } | null)?.name;
  const detail = err instanceof Error ? err.message : String(err);
  if (kind === 'PasswordException') {
    return new ParseError('encrypted', `encrypted PDF: ${name} needs a password to open; remove the password and upload it again`, { cause: err });
  }
  return new ParseError('corrupt', `corrupt PDF: ${name} could not be opened (${detail}); it may be truncated or not a PDF`, { cause: err });
}

/** Number of pages of a PDF, reading only the parts needed to find the page tree. */
export async function pdfPageCount(input: Uint8Array | ByteSource, opts: { name?: string; rangeChunkSize?: number } = {}): Promise<number> {
  const source = input instanceof Uint8Array ? bytesSource(input) : input;
  const name = opts.name ?? 'document.pdf';
  if (source.size === 0) throw new ParseError('empty', `empty file: ${name} has no text`);
  const pdf = await openPdf(source, name, opts.rangeChunkSize ?? DEFAULT_PDF_RANGE_CHUNK);
  try {
    return pdf.doc.numPages;
  } finally {
    await pdf.close();
  }
}

/** A line of text with its box in points from the page's top-left corner. */
export interface Line {
  text: string;
  x0: number;
  x1: number;
  top: number;
  bottom: number;
  /** font height: a change of size between lines starts a new block (a heading) */
  size: number;
}

interface TextRun {
  str: string;
  transform: number[];
  width: number;
  height: number;
  hasEOL: boolean;
}

const CJK_EDGE = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}\u3000-\u303f\uff00-\uffef]/u;

/** Joins two pieces of running text: no space between CJK characters or where one already is. */
function joinText(a: string, b: string): string {
  if (!a) return b;
  if (!b) return a;
  if (/\s$/.test(a) || /^\s/.test(b)) return a + b;
  if (CJK_EDGE.test(a.at(-1)!) && CJK_EDGE.test(b[0]!)) return a + b;
  return `${a} ${b}`;
}

/**
 * Text items in content order become lines: an item starts a new line when its baseline moves by
 * more than half its height; on one line, a horizontal gap wider than a fifth of the font size is a space.
 */
function linesOf(items: readonly TextRun[], toViewport: (x: number, y: number) => number[]): Line[] {
  const lines: Line[] = [];
  let cur: (Line & { baseline: number; end: number }) | undefined;
  for (const item of items) {
    if (!item.str) continue;
    const [a = 0, b = 0, c = 0, d = 0, x = 0, y = 0] = item.transform;
    const size = item.height || Math.hypot(c, d) || Math.hypot(a, b) || 1;
    const [vx0 = 0, vy0 = 0] = toViewport(x, y);
    const [vx1 = 0, vy1 = 0] = toViewport(x + item.width, y + size);
    const box = { x0: Math.min(vx0, vx1), x1: Math.max(vx0, vx1), top: Math.min(vy0, vy1), bottom: Math.max(vy0, vy1) };
    const sameLine = cur !== undefined && Math.abs(y - cur.baseline) <= size / 2;
    if (cur && sameLine) {
      const gap = x - cur.end;
      cur.text = gap > size / 5 ? joinText(cur.text, item.str) : cur.text + item.str;
      cur.x0 = Math.min(cur.x0, box.x0);
      cur.x1 = Math.max(cur.x1, box.x1);
      cur.top = Math.min(cur.top, box.top);
      cur.bottom = Math.max(cur.bottom, box.bottom);
      cur.size = Math.max(cur.size, size);
      cur.end = x + item.width;
    } else {
      if (cur) lines.push(cur);
      cur = { text: item.str, ...box, size, baseline: y, end: x + item.width };
    }
  }
  if (cur) lines.push(cur);
  return lines.filter((l) => l.text.trim().length > 0).map(({ text, x0, x1, top, bottom, size }) => ({ text: text.trim(), x0, x1, top, bottom, size }));
}

/**
 * Lines become blocks (paragraphs): a new block starts where the vertical gap to the previous line
 * exceeds 60% of the line height, the font size changes by more than a fifth (headings), the text
 * jumps upwards (a new column), or the block has reached `maxTokens`. Lines of a block are joined
 * into running text, and the block's box is the union of its lines' boxes.
 */
export function blocksOf(lines: readonly Line[], page: number, maxTokens: number): Section[] {
  const sections: Section[] = [];
  let block: { text: string; tokens: number; x0: number; x1: number; top: number; bottom: number; size: number } | undefined;
  const flush = (): void => {
    if (!block) return;
    const position: Position = [page, block.x0, block.x1, block.top, block.bottom];
    sections.push({ text: block.text, page, position });
    block = undefined;
  };
  for (const line of lines) {
    const tokens = countTokens(line.text);
    if (block) {
      const height = Math.max(block.size, line.size);
      const gap = line.top - block.bottom;
      const newBlock =
        gap > height * 0.6 ||
        gap < -height * 2 ||
        Math.abs(line.size - block.size) > Math.min(line.size, block.size) / 5 ||
        block.tokens + tokens > maxTokens;
      if (newBlock) flush();
    }
    if (!block) {
      block = { text: line.text, tokens, x0: line.x0, x1: line.x1, top: line.top, bottom: line.bottom, size: line.size };
    } else {
      block.text = joinText(block.text, line.text);
      block.tokens += tokens;
      block.x0 = Math.min(block.x0, line.x0);
      block.x1 = Math.max(block.x1, line.x1);
      block.top = Math.min(block.top, line.top);
      block.bottom = Math.max(block.bottom, line.bottom);
    }
  }
  flush();
  return sections;
}

async function pageSections(page: PDFPageProxy, pageIndex: number, maxTokens: number): Promise<Section[]> {
  const viewport = page.getViewport({ scale: 1 });
  const content = await page.getTextContent();
  const runs = content.items.filter((i): i is TextRun & (typeof content.items)[number] => 'str' in i);
  const lines = linesOf(runs, (x, y) => viewport.convertToViewportPoint(x, y));
  return blocksOf(lines, pageIndex, maxTokens);
}

/**
 * A text layer with fewer characters per square inch than this is not the page's text: a scan
 * with no text layer, or with a page number, a stamp or a scanner's watermark on it (a page of
 * prose holds 20-40 per square inch, a sparse title page 1-3).
 */
export const MIN_TEXT_PER_SQUARE_INCH = 1;

function visibleChars(sections: readonly Section[]): number {
  return sections.reduce((n, s) => n + s.text.replace(/\s+/g, '').length, 0);
}

/** Whether a page paints an image (a scan is one): OCR can find nothing on a page that has none. */
async function paintsImage(lib: PdfJs, page: PDFPageProxy): Promise<boolean> {
  const ops = lib.OPS;
  const image = new Set<number>([
    ops.paintImageXObject,
    ops.paintInlineImageXObject,
    ops.paintImageMaskXObject,
    ops.paintImageXObjectRepeat,
    ops.paintImageMaskXObjectRepeat,
    ops.paintImageMaskXObjectGroup,
    ops.paintInlineImageXObjectGroup,
  ]);
  // the operator list is cached by pdf.js, so a page that is then rendered does not parse it twice
  const list = await page.getOperatorList();
  return list.fnArray.some((fn) => image.has(fn));
}

/** Whether the page's text layer is too thin for its area (see MIN_TEXT_PER_SQUARE_INCH) and the page has an image to read. */
async function needsOcr(lib: PdfJs, page: PDFPageProxy, sections: readonly Section[]): Promise<boolean> {
  const { width, height } = page.getViewport({ scale: 1 });
  const squareInches = (width / 72) * (height / 72);
  if (visibleChars(sections) >= squareInches * MIN_TEXT_PER_SQUARE_INCH) return false;
  return paintsImage(lib, page);
}

interface PageText {
  sections: Section[];
  ocr: boolean;
  note?: string;
}

async function pageText(
  lib: PdfJs,
  page: PDFPageProxy,
  p: number,
  opts: { name: string; maxTokens: number; ocr: boolean; dpi: number; hooks?: ParseHooks },
): Promise<PageText> {
  const layer = await pageSections(page, p, opts.maxTokens);
  if (!(await needsOcr(lib, page, layer))) {
    return { sections: layer, ocr: false, ...(layer.length === 0 ? { note: `page ${p + 1} has no text (no text layer and no image)` } : {}) };
  }
  if (!opts.ocr) {
    return {
      sections: layer,
      ocr: false,
      note: `page ${p + 1} has ${layer.length === 0 ? 'no text layer' : 'almost no text layer'} (scanned?); not OCR'd since layout_recognize is "Plain Text"`,
    };
  }
  const rendered = await renderPage(page, opts.dpi);
  const ocr = await ocrPageSections(rendered, p, opts.maxTokens, opts.hooks, opts.name);
  // a page number over a photo: the OCR has at least what the layer had, usually more
  if (visibleChars(ocr) <= visibleChars(layer)) return { sections: layer, ocr: false };
  return { sections: ocr, ocr: true };
}

/**
 * The text of pages `fromPage`..`toPage` (0-based, `toPage` exclusive, as RAGFlow's tasks) as
 * one section per text block, each with its 0-based page and box `[page, x0, x1, top, bottom]`
 * in points from the page's top-left corner (what RAGFlow's position tags hold). A page without
 * a usable text layer (see `needsOcr`) is rendered and OCR'd, its lines grouped into blocks the
 * same way. Pages are read one at a time through `source` and freed after their text is taken;
 * `hooks` hear of each page, and an aborted signal stops the parse before the next one.
 */
export async function parsePdf(source: ByteSource, opts: PdfOptions = {}): Promise<ParsedDocument> {
  const name = opts.name ?? 'document.pdf';
  const fromPage = opts.fromPage ?? 0;
  const maxTokens = opts.maxSectionTokens ?? DEFAULT_CHUNK_TOKEN_NUM;
  const hooks = opts.hooks;
  if (source.size === 0) throw new ParseError('empty', `empty file: ${name} has no text`);
  const lib = await pdfjs();
  const pdf = await openPdf(source, name, opts.rangeChunkSize ?? DEFAULT_PDF_RANGE_CHUNK);
  try {
    const pageCount = pdf.doc.numPages;
    if (pageCount === 0) throw new ParseError('empty', `empty PDF: ${name} has no pages`);
    if (fromPage >= pageCount) {
      throw new ParseError(
        'page_range',
        `page range past the end: the task starts at page ${fromPage + 1} but ${name} has ${pageCount} page${pageCount === 1 ? '' : 's'}`,
      );
    }
    const toPage = Math.min(opts.toPage ?? pageCount, pageCount);
    const sections: Section[] = [];
    const notes: string[] = [];
    let ocrPages = 0;
    for (let p = fromPage; p < toPage; p++) {
      if (hooks?.signal?.aborted) throw cancelledError(name, p);
      let page: PDFPageProxy | undefined;
      let found: PageText;
      try {
        page = await pdf.guard(pdf.doc.getPage(p + 1));
        found = await pdf.guard(pageText(lib, page, p, { name, maxTokens, ocr: opts.ocr ?? true, dpi: opts.ocrDpi ?? DEFAULT_OCR_DPI, ...(hooks ? { hooks } : {}) }));
      } catch (err) {
        const failure = pdf.readFailure();
        if (failure !== undefined) throw failure;
        if (err instanceof ParseError || err instanceof OcrError) throw err;
        throw new ParseError('corrupt', `corrupt PDF: page ${p + 1} of ${name} could not be read (${err instanceof Error ? err.message : String(err)})`, {
          cause: err,
        });
      } finally {
        page?.cleanup();
      }
      if (found.note) notes.push(found.note);
      if (found.ocr) ocrPages++;
      sections.push(...found.sections);
      hooks?.onPage?.({ page: p, done: p - fromPage + 1, total: toPage - fromPage, ocr: found.ocr });
    }
    if (ocrPages > 0) notes.push(`OCR read ${ocrPages} of ${toPage - fromPage} page${toPage - fromPage === 1 ? '' : 's'} (no usable text layer)`);
    return { sections, format: 'pdf', notes };
  } finally {
    await pdf.close();
  }
}

function sectionTokenLimit(parserConfig: Record<string, unknown>): number {
  const n = Number(parserConfig['chunk_token_num']);
  return Number.isFinite(n) && n >= 1 ? n : DEFAULT_CHUNK_TOKEN_NUM;
}

/** PDF input options from a format input (the parser config's chunk size caps a text block). */
export function pdfOptionsFor(input: Omit<FormatInput, 'data' | 'source'>): PdfOptions {
  return {
    name: input.name,
    fromPage: input.fromPage,
    toPage: input.toPage,
    maxSectionTokens: sectionTokenLimit(input.parserConfig),
    ocr: ocrRequested(input.parserConfig),
    ...(input.hooks ? { hooks: input.hooks } : {}),
  };
}

export const pdfFormat: FormatParser = {
  id: 'pdf',
  extensions: ['.pdf'],
  paged: true,
  readsRanges: true,
  async parse(input: FormatInput): Promise<ParsedDocument> {
    return parsePdf(input.source ?? bytesSource(input.data), pdfOptionsFor(input));
  },
};
