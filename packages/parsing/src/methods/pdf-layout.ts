import { bytesSource } from '../byte-source.js';
import { ParseError } from '../errors.js';
import type { FormatInput, FormatParser } from '../formats/format.js';
import type { OutlineEntry, ParsedDocument, Position, Section } from '../types.js';
import { splitAtBullets } from './pdf-tags.js';

/**
 * What RAGFlow's PDF methods (manual, paper, book, laws) read besides the text: the layout type of
 * every text box (DeepDOC's layout model tags boxes "title", "text", ...) and the PDF outline
 * (bookmarks, pypdf's `reader.outline`). Ragline has no layout model: the text blocks of
 * formats/pdf.ts are the boxes, and a block is a "title" when its font is larger than the body font
 * (the font size of most of the document's characters), which is what a layout model mostly keys on.
 * Font sizes are read again from pdf.js's text items (pdf.ts splits blocks at font-size changes but
 * does not report the sizes).
 */

/** A PDF text block with RAGFlow's layout tag. */
export interface LaidBlock {
  text: string;
  /** "title" or "text" */
  layout: string;
  /** the block's font size in points (the size most of its characters have) */
  size: number;
  page: number;
  position: Position;
  /** the text each line of the block starts with, in reading order */
  lines: string[];
}

export interface PdfLayout {
  blocks: LaidBlock[];
  outlines: OutlineEntry[];
  /** the body font size in points */
  bodySize: number;
}

/** A block counts as a title from this ratio of its font size to the body font size up. */
const TITLE_RATIO = 1.15;

type PdfJs = typeof import('pdfjs-dist/legacy/build/pdf.mjs');
type PdfDoc = Awaited<ReturnType<PdfJs['getDocument']>['promise']>;
type OutlineNode = Awaited<ReturnType<PdfDoc['getOutline']>>[number];

interface SizedItem {
  str: string;
  x: number;
  y: number;
  size: number;
  chars: number;
}

/** Item anchor points in page coordinates from the top-left, with font size and length. */
async function pageItems(doc: PdfDoc, pageNo: number): Promise<SizedItem[]> {
  const page = await doc.getPage(pageNo + 1);
  try {
    const viewport = page.getViewport({ scale: 1 });
    const content = await page.getTextContent();
    const out: SizedItem[] = [];
    for (const item of content.items) {
      if (!('str' in item) || item.str.trim() === '') continue;
      const [a = 0, b = 0, c = 0, d = 0, x = 0, y = 0] = item.transform as number[];
      const size = item.height || Math.hypot(c, d) || Math.hypot(a, b) || 1;
      const [vx = 0, vy = 0] = viewport.convertToViewportPoint(x + item.width / 2, y + size / 2);
      out.push({ str: item.str, x: vx, y: vy, size, chars: item.str.trim().length });
    }
    return out;
  } finally {
    page.cleanup();
  }
}

/** The size most characters have (ties to the larger size), rounded to a tenth of a point. */
function modeSize(items: readonly SizedItem[]): number {
  const bySize = new Map<number, number>();
  for (const it of items) {
    const s = Math.round(it.size * 10) / 10;
    bySize.set(s, (bySize.get(s) ?? 0) + it.chars);
  }
  let best = 0;
  let count = -1;
  for (const [s, n] of bySize) {
    if (n > count || (n === count && s > best)) {
      best = s;
      count = n;
    }
  }
  return best;
}

async function outlineOf(doc: PdfDoc): Promise<OutlineEntry[]> {
  const out: OutlineEntry[] = [];
  let nodes: OutlineNode[] | null;
  try {
    nodes = await doc.getOutline();
  } catch {
    return []; // RAGFlow: an unreadable outline is no outline
  }
  const pageOf = async (node: OutlineNode): Promise<number> => {
    try {
      const dest = typeof node.dest === 'string' ? await doc.getDestination(node.dest) : node.dest;
      const ref = dest?.[0];
      if (ref === undefined || ref === null) return 0;
      if (typeof ref === 'number') return ref + 1;
      return (await doc.getPageIndex(ref as Parameters<PdfDoc['getPageIndex']>[0])) + 1;
    } catch {
      return 0;
    }
  };
  const dfs = async (list: readonly OutlineNode[], depth: number): Promise<void> => {
    for (const node of list) {
      out.push({ title: node.title, depth, page: await pageOf(node) });
      if (node.items.length > 0) await dfs(node.items, depth + 1);
    }
  };
  await dfs(nodes ?? [], 0);
  return out;
}

/**
 * The layout of a parsed PDF's blocks and its outline. The file is read whole (a method over a
 * PDF's structure needs the outline, which may sit anywhere in the file).
 */
export async function pdfLayout(input: FormatInput, parsed: ParsedDocument): Promise<PdfLayout> {
  const source = input.source ?? bytesSource(input.data);
  const data = await source.read(0, source.size);
  const lib: PdfJs = await import('pdfjs-dist/legacy/build/pdf.mjs');
  const task = lib.getDocument({
    data: new Uint8Array(data),
    verbosity: lib.VerbosityLevel.ERRORS,
    isEvalSupported: false,
    disableFontFace: true,
    useSystemFonts: false,
    stopAtErrors: false,
  });
  try {
    let doc: PdfDoc;
    try {
      doc = await task.promise;
    } catch (cause) {
      throw new ParseError('corrupt', `corrupt PDF: ${input.name} could not be opened (${cause instanceof Error ? cause.message : String(cause)})`, { cause });
    }
    const pages = [...new Set(parsed.sections.map((s) => s.page ?? 0))];
    const items = new Map<number, SizedItem[]>();
    for (const p of pages) items.set(p, await pageItems(doc, p));
    const bodySize = modeSize([...items.values()].flat());
    const blocks = parsed.sections.map((s) => laid(s, items.get(s.page ?? 0) ?? [], bodySize));
    return { blocks, outlines: await outlineOf(doc), bodySize };
  } finally {
    await task.destroy();
  }
}

function laid(section: Section, items: readonly SizedItem[], bodySize: number): LaidBlock {
  const position: Position = section.position ?? [section.page ?? 0, 0, 0, 0, 0];
  const [, x0, x1, top, bottom] = position;
  const inside = items.filter((it) => it.x >= x0 - 1 && it.x <= x1 + 1 && it.y >= top - 1 && it.y <= bottom + 1);
  const size = inside.length > 0 ? modeSize(inside) : bodySize;
  const layout = bodySize > 0 && size >= bodySize * TITLE_RATIO ? 'title' : 'text';
  const lines: string[] = [];
  let lastY: number | undefined;
  for (const it of inside) {
    if (lastY === undefined || Math.abs(it.y - lastY) > it.size / 2) lines.push(it.str.trimStart());
    else lines[lines.length - 1] += it.str;
    lastY = it.y;
  }
  return { text: section.text, layout, size, page: position[0], position, lines };
}

/** The parsed PDF with each block's layout type and the document's outline. */
export async function withPdfLayout(input: FormatInput, parsed: ParsedDocument): Promise<ParsedDocument> {
  const { blocks, outlines } = await pdfLayout(input, parsed);
  return { ...parsed, sections: parsed.sections.map((s, i) => ({ ...s, layout: blocks[i]!.layout })), outline: outlines };
}

/** A method's reader of PDFs: the named PDF format's blocks with their layout (`withPdfLayout`); any other format as `other` reads it. */
export function pdfLayoutFormat(named: FormatParser, other: (named: FormatParser) => FormatParser = (f) => f): FormatParser {
  if (named.id !== 'pdf') return other(named);
  return {
    id: named.id,
    extensions: named.extensions,
    paged: named.paged,
    ...(named.readsRanges ? { readsRanges: true } : {}),
    async parse(input: FormatInput): Promise<ParsedDocument> {
      return withPdfLayout(input, await named.parse(input));
    },
  };
}

/**
 * The PDF reader of laws and book: blocks with their layout, cut at the bullets they hold
 * (splitAtBullets); other formats as `other` reads them.
 */
export function pdfBulletBlocksFormat(named: FormatParser, other: (named: FormatParser) => FormatParser): FormatParser {
  if (named.id !== 'pdf') return other(named);
  return {
    ...pdfLayoutFormat(named),
    async parse(input: FormatInput): Promise<ParsedDocument> {
      const parsed = await named.parse(input);
      const { blocks, outlines } = await pdfLayout(input, parsed);
      const sections = parsed.sections.map((s, i) => ({ ...s, layout: blocks[i]!.layout }));
      return { ...parsed, sections: splitAtBullets(sections, blocks.map((b) => b.lines)), outline: outlines };
    },
  };
}
