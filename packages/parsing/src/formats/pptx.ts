import type { Readable } from 'node:stream';
import type { Element } from 'domhandler';
import { parseDocument as parseXml } from 'htmlparser2';
import { inspectArchive, looksLikeOle2, looksLikeZip, openArchive, type OpenArchive } from '../archive.js';
import { ParseError } from '../errors.js';
import type { ParsedDocument, Section } from '../types.js';
import type { FormatInput, FormatParser } from './format.js';

/*
 * PPTX read the way RAGFlow's deepdoc/parser/ppt_parser.py reads it through python-pptx:
 * slides in the order of presentation.xml's sldIdLst; on each slide the shapes sorted by
 * (top // 10, left) in EMU, a placeholder without its own position taking it from its layout's
 * placeholder (same idx) and then from the master's (same type), as python-pptx inherits it;
 * a text shape gives its non-blank paragraphs (a bulleted one as "  " * level + "." + text);
 * a table gives one line per body row, "header: cell; header: cell"; a group gives its
 * shapes' texts sorted the same way; pictures, charts and connectors give nothing. The slide's
 * text is its shapes' non-empty texts joined by "\n".
 */

const TABLE_URI = 'http://schemas.openxmlformats.org/drawingml/2006/table';
/** the shape elements python-pptx iterates in a shape tree (mc:AlternateContent is not one) */
const SHAPE_TAGS = new Set(['sp', 'grpSp', 'graphicFrame', 'cxnSp', 'pic', 'contentPart']);

function local(name: string): string {
  const colon = name.indexOf(':');
  return colon < 0 ? name : name.slice(colon + 1);
}

function kids(el: Element, tag?: string): Element[] {
  const out: Element[] = [];
  for (const c of el.children) {
    if (c.type === 'tag' && (tag === undefined || local((c as Element).name) === tag)) out.push(c as Element);
  }
  return out;
}

function kid(el: Element | undefined, tag: string): Element | undefined {
  return el ? kids(el, tag)[0] : undefined;
}

/** An attribute by its local name; `prefixed` asks for a namespaced one (r:id, not id). */
function attr(el: Element | undefined, name: string, prefixed = false): string | undefined {
  if (!el) return undefined;
  for (const [k, v] of Object.entries(el.attribs)) {
    if (local(k) === name && (!prefixed || k.includes(':'))) return v;
  }
  return undefined;
}

function xmlRoot(xml: string, part: string, fileName: string): Element {
  const doc = parseXml(xml, { xmlMode: true, decodeEntities: true });
  const root = doc.children.find((c) => c.type === 'tag') as Element | undefined;
  if (!root) throw new ParseError('corrupt', `corrupt file: ${fileName} is not a readable PowerPoint presentation (${part} holds no XML)`);
  return root;
}

/** Text of an element's text children, with XML's line-end normalisation (lxml does it on parse). */
function textOf(el: Element | undefined): string {
  if (!el) return '';
  let s = '';
  for (const c of el.children) if (c.type === 'text') s += (c as unknown as { data: string }).data;
  return s.replace(/\r\n?/g, '\n');
}

const UNIT_EMU: Record<string, number> = { mm: 36000, cm: 360000, in: 914400, pt: 12700, pc: 152400, pi: 152400 };

/** python-pptx's ST_Coordinate: EMU, or a universal measure such as "2.5in". */
function coordinate(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  const unit = UNIT_EMU[v.slice(-2)];
  if (unit !== undefined) {
    const q = Number(v.slice(0, -2));
    return Number.isFinite(q) ? Math.round(q * unit) : undefined;
  }
  const n = Number(v);
  return Number.isInteger(n) ? n : undefined;
}

/** Python's str.strip() whitespace (str.isspace), which is not JavaScript's \s. */
const PY_SPACE = /^[\t\n\v\f\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$/;

interface Placeholder {
  idx: number;
  type: string;
}

/** The p:ph of a shape (python-pptx: ./*[1]/p:nvPr/p:ph). */
function placeholderOf(shape: Element): Placeholder | undefined {
  const ph = kid(kid(kids(shape)[0], 'nvPr'), 'ph');
  if (!ph) return undefined;
  const idx = Number(attr(ph, 'idx') ?? '0');
  return { idx: Number.isInteger(idx) ? idx : 0, type: attr(ph, 'type') ?? 'obj' };
}

/** a:off of the shape's own transform (spPr, grpSpPr or the graphic frame's p:xfrm) */
function offsetOf(shape: Element): Element | undefined {
  switch (local(shape.name)) {
    case 'graphicFrame':
      return kid(kid(shape, 'xfrm'), 'off');
    case 'grpSp':
      return kid(kid(kid(shape, 'grpSpPr'), 'xfrm'), 'off');
    default:
      return kid(kid(kid(shape, 'spPr'), 'xfrm'), 'off');
  }
}

/** python-pptx's LayoutPlaceholder._base_placeholder: the master placeholder type a layout placeholder inherits from. */
const MASTER_TYPE: Record<string, string> = {
  body: 'body', chart: 'body', clipArt: 'body', ctrTitle: 'title', dgm: 'body', dt: 'dt', ftr: 'ftr', media: 'body',
  obj: 'body', pic: 'body', sldNum: 'sldNum', subTitle: 'body', tbl: 'body', title: 'title',
};

interface Inheritance {
  layout: Element[];
  master: Element[];
}

function placeholders(spTree: Element | undefined): Element[] {
  return spTree ? kids(spTree).filter((s) => SHAPE_TAGS.has(local(s.name)) && placeholderOf(s) !== undefined) : [];
}

/** top and left as python-pptx reports them (None -> undefined) */
function position(shape: Element, inherit: Inheritance | undefined): { top?: number; left?: number } {
  const off = offsetOf(shape);
  let top = coordinate(attr(off, 'y'));
  let left = coordinate(attr(off, 'x'));
  const tag = local(shape.name);
  const ph = inherit && (tag === 'sp' || tag === 'pic') ? placeholderOf(shape) : undefined;
  if (ph && (top === undefined || left === undefined)) {
    const layoutPh = inherit!.layout.find((s) => placeholderOf(s)!.idx === ph.idx);
    if (layoutPh) {
      const lOff = offsetOf(layoutPh);
      const masterType = MASTER_TYPE[placeholderOf(layoutPh)!.type] ?? 'body';
      const masterPh = inherit!.master.find((s) => placeholderOf(s)!.type === masterType);
      const mOff = masterPh ? offsetOf(masterPh) : undefined;
      top ??= coordinate(attr(lOff, 'y')) ?? coordinate(attr(mOff, 'y'));
      left ??= coordinate(attr(lOff, 'x')) ?? coordinate(attr(mOff, 'x'));
    }
  }
  return { top, left };
}

/** RAGFlow's sort: by (top // 10, left), a missing one counting as 0; stable like Python's sorted. */
function sortShapes(shapes: Element[], inherit: Inheritance | undefined): Element[] {
  const keyed = shapes.map((s, i) => {
    const { top, left } = position(s, inherit);
    return { s, i, t: Math.floor((top ?? 0) / 10), l: left ?? 0 };
  });
  keyed.sort((a, b) => a.t - b.t || a.l - b.l || a.i - b.i);
  return keyed.map((k) => k.s);
}

/** python-pptx's _Paragraph.text: runs and fields give their a:t, a line break "\v". */
function paragraphText(p: Element): string {
  let s = '';
  for (const c of kids(p)) {
    const tag = local(c.name);
    if (tag === 'r' || tag === 'fld') s += textOf(kid(c, 't'));
    else if (tag === 'br') s += '\v';
  }
  return s;
}

function textFrame(shape: Element): string {
  const body = kid(shape, 'txBody');
  if (!body) return '';
  const texts: string[] = [];
  for (const p of kids(body, 'p')) {
    const text = paragraphText(p);
    if (PY_SPACE.test(text)) continue;
    const pPr = kid(p, 'pPr');
    const bulleted = pPr !== undefined && (kid(pPr, 'buChar') ?? kid(pPr, 'buAutoNum') ?? kid(pPr, 'buBlip')) !== undefined;
    if (bulleted) {
      const lvl = Number(attr(pPr, 'lvl') ?? '0');
      texts.push(`${'  '.repeat(Number.isInteger(lvl) && lvl > 0 ? lvl : 0)}.${text}`);
    } else texts.push(text);
  }
  return texts.join('\n');
}

/** python-pptx's _Cell.text: the cell's paragraphs joined by "\n". */
function cellText(tc: Element): string {
  const body = kid(tc, 'txBody');
  return body ? kids(body, 'p').map(paragraphText).join('\n') : '';
}

/** RAGFlow's table text: for each row after the first, "header: cell" for every column joined by "; ". */
function tableText(frame: Element): string | undefined {
  const data = kid(kid(frame, 'graphic'), 'graphicData');
  if (attr(data, 'uri') !== TABLE_URI) return undefined;
  const tbl = kid(data, 'tbl');
  // python-pptx raises on a table frame without a:tbl; RAGFlow logs it and takes no text
  if (!tbl) return '';
  const grid = kid(tbl, 'tblGrid');
  const columns = grid ? kids(grid, 'gridCol').length : 0;
  const rows = kids(tbl, 'tr').map((tr) => kids(tr, 'tc'));
  const lines: string[] = [];
  for (let i = 1; i < rows.length; i++) {
    const cells: string[] = [];
    for (let j = 0; j < columns; j++) {
      const head = rows[0]![j];
      const cell = rows[i]![j];
      // a row shorter than the grid makes python-pptx raise IndexError: the whole table gives ""
      if (!head || !cell) return '';
      cells.push(`${cellText(head)}: ${cellText(cell)}`);
    }
    lines.push(cells.join('; '));
  }
  return lines.join('\n');
}

function extract(shape: Element, inherit: Inheritance | undefined): string {
  switch (local(shape.name)) {
    case 'sp':
      return textFrame(shape);
    case 'graphicFrame':
      return tableText(shape) ?? '';
    case 'grpSp': {
      const texts: string[] = [];
      // python-pptx builds a group's shapes without placeholder inheritance
      for (const child of sortShapes(kids(shape).filter((c) => SHAPE_TAGS.has(local(c.name))), undefined)) {
        const t = extract(child, undefined);
        if (t) texts.push(t);
      }
      return texts.join('\n');
    }
    default:
      return '';
  }
}

/** The text of one slide as RAGFlow's RAGFlowPptParser gives it. */
function slideText(slide: Element, inherit: Inheritance): string {
  const spTree = kid(kid(slide, 'cSld'), 'spTree');
  if (!spTree) return '';
  const texts: string[] = [];
  for (const shape of sortShapes(kids(spTree).filter((s) => SHAPE_TAGS.has(local(s.name))), inherit)) {
    const t = extract(shape, inherit);
    if (t) texts.push(t);
  }
  return texts.join('\n');
}

async function readStream(stream: Readable): Promise<string> {
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(chunk as Buffer);
  return Buffer.concat(parts).toString('utf8');
}

function dirOf(part: string): string {
  const slash = part.lastIndexOf('/');
  return slash < 0 ? '' : part.slice(0, slash + 1);
}

/** A relationship target as a part name inside the zip. */
function resolveTarget(fromPart: string, target: string): string {
  const segments = (target.startsWith('/') ? target.slice(1) : dirOf(fromPart) + target).split('/');
  const out: string[] = [];
  for (const seg of segments) {
    if (seg === '..') out.pop();
    else if (seg !== '.' && seg !== '') out.push(seg);
  }
  return out.join('/');
}

function relsPathOf(part: string): string {
  return `${dirOf(part)}_rels/${part.slice(part.lastIndexOf('/') + 1)}.rels`;
}

interface Rel {
  id: string;
  type: string;
  target: string;
}

class PptxReader {
  private readonly cache = new Map<string, Element>();
  constructor(
    private readonly zip: OpenArchive,
    private readonly fileName: string,
  ) {}

  private notPresentation(why: string): ParseError {
    return new ParseError('corrupt', `corrupt file: ${this.fileName} is not a readable PowerPoint presentation (${why})`);
  }

  /** a part as XML, or undefined when the zip has no such entry */
  async part(name: string): Promise<Element | undefined> {
    const cached = this.cache.get(name);
    if (cached) return cached;
    if (!this.zip.has(name)) return undefined;
    let xml: string;
    try {
      xml = await readStream(await this.zip.open(name));
    } catch (cause) {
      const reason = cause instanceof Error ? cause.message : String(cause);
      throw new ParseError('corrupt', `corrupt file: ${this.fileName} could not be unpacked (${name}: ${reason})`, { cause });
    }
    const root = xmlRoot(xml, name, this.fileName);
    this.cache.set(name, root);
    return root;
  }

  async rels(part: string): Promise<Rel[]> {
    const root = await this.part(relsPathOf(part));
    if (!root) return [];
    return kids(root, 'Relationship')
      .filter((r) => attr(r, 'TargetMode') !== 'External')
      .map((r) => ({ id: attr(r, 'Id') ?? '', type: attr(r, 'Type') ?? '', target: resolveTarget(part, attr(r, 'Target') ?? '') }));
  }

  async related(part: string, typeSuffix: string): Promise<string | undefined> {
    return (await this.rels(part)).find((r) => r.type.endsWith(typeSuffix))?.target;
  }

  /** the presentation part, its slides in sldIdLst order */
  async slideParts(): Promise<string[]> {
    const main = (await this.related('', '/officeDocument')) ?? (this.zip.has('ppt/presentation.xml') ? 'ppt/presentation.xml' : undefined);
    const presentation = main ? await this.part(main) : undefined;
    if (!main || !presentation || local(presentation.name) !== 'presentation') {
      throw this.notPresentation('it has no presentation part: a Word or Excel file, or another zip, renamed?');
    }
    const rels = new Map((await this.rels(main)).map((r) => [r.id, r.target] as const));
    const slides: string[] = [];
    const list = kid(presentation, 'sldIdLst');
    for (const sldId of list ? kids(list, 'sldId') : []) {
      const target = rels.get(attr(sldId, 'id', true) ?? '');
      if (target === undefined || !this.zip.has(target)) throw this.notPresentation(`a slide of its slide list is missing`);
      slides.push(target);
    }
    return slides;
  }

  async inheritance(slidePart: string): Promise<Inheritance> {
    const layoutPart = await this.related(slidePart, '/slideLayout');
    const layout = layoutPart ? await this.part(layoutPart) : undefined;
    const masterPart = layoutPart ? await this.related(layoutPart, '/slideMaster') : undefined;
    const master = masterPart ? await this.part(masterPart) : undefined;
    const tree = (root: Element | undefined) => kid(kid(root, 'cSld'), 'spTree');
    return { layout: placeholders(tree(layout)), master: placeholders(tree(master)) };
  }
}

/** The text of every slide (from `fromPage` on, as RAGFlow's presentation reads to the end), in slide order. */
export async function pptxSlides(input: FormatInput): Promise<string[]> {
  const zip = await openArchive(input.data).catch((cause: unknown) => {
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new ParseError('corrupt', `corrupt file: ${input.name} is not a readable zip archive (${reason})`, { cause });
  });
  try {
    const reader = new PptxReader(zip, input.name);
    const parts = await reader.slideParts();
    const texts: string[] = [];
    for (let i = input.fromPage; i < parts.length; i++) {
      const slide = await reader.part(parts[i]!);
      texts.push(slide ? slideText(slide, await reader.inheritance(parts[i]!)) : '');
    }
    return texts;
  } finally {
    zip.close();
  }
}

/**
 * PPTX: one section per slide (`page` = 0-based slide number), its text as RAGFlow's presentation
 * method reads it (see the top of this file). Under `naive` the slides are merged by token budget
 * like any sections (RAGFlow's naive has no PPTX reader; RAGFlow gives PPT files the
 * `presentation` parser at upload). Slide images are not rendered. The zip is checked against the
 * archive limits first.
 */
export const pptxFormat: FormatParser = {
  id: 'pptx',
  extensions: ['.pptx'],
  paged: false,
  async parse(input: FormatInput): Promise<ParsedDocument> {
    if (looksLikeOle2(input.data)) {
      throw new ParseError(
        'corrupt',
        `corrupt file: ${input.name} is an OLE2 compound file, not a zip archive: it is either password-protected (remove the password in PowerPoint and save again) or a legacy .ppt file renamed (save it as .pptx).`,
      );
    }
    if (!looksLikeZip(input.data)) {
      throw new ParseError(
        'corrupt',
        `corrupt file: ${input.name} is not a PowerPoint presentation (a .pptx file is a zip archive, and this one does not start like one). Legacy .ppt files must be saved as .pptx first.`,
      );
    }
    await inspectArchive(input.data, input.name, input.archiveLimits);
    const slides = await pptxSlides(input);
    const sections: Section[] = slides.map((text, i) => ({ text, page: input.fromPage + i }));
    return { sections, format: 'pptx', notes: [] };
  },
};
