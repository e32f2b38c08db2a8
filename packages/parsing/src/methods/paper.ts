import { fineGrainedTokenize, tokenize } from '@ragline/rag-tokenizer';
import { countTokens } from '@ragline/tokenizer';
import type { MergedChunk, ParsedDocument, Position, Section } from '../types.js';
import { bulletsCategory, pyStrip } from './hierarchy.js';
import { sectionIds, titleFrequency } from './manual.js';
import type { ChunkMethodModule } from './method.js';
import { pdfLayoutFormat } from './pdf-layout.js';
import { throughTag } from './pdf-tags.js';

/**
 * RAGFlow's `paper` method (rag/app/paper.py) on PDF, over the text blocks of formats/pdf.ts with
 * their layout type (pdf-layout.ts stands in for DeepDOC's layout model). In the first 32 blocks:
 * the first title block is the paper's title (unless it is "Abstract", "Introduction", ...) and up
 * to three blocks after it the authors (up to one holding "@"); a block starting "Abstract" / "摘要"
 * that is long (> 32 words or > 64 characters), or else the block after it when that one is long,
 * is the abstract, one chunk of its own (lower-cased, as RAGFlow has it, important_kwd "abstract",
 * "summary", ...). The blocks after the abstract are cut into sections at the most frequent title
 * level (title_frequency) and each section is one chunk. Every chunk carries title_tks and
 * authors_tks. A task that starts past the first page has no title, authors or abstract.
 */

const BEGIN = /^[0-9. 一、i]*(introduction|abstract|摘要|引言|keywords|key words|关键词|background|背景|目录|前言|contents)/;
const begins = (txt: string): boolean => BEGIN.test(pyStrip(txt.toLowerCase()));
const ABSTRACT = /^(abstract|摘要)/;
const IMPORTANT = ['abstract', '总结', '概括', 'summary', 'summarize'];

const cleanBox = (text: string): string => pyStrip(text).replace(/[\t \u3000]{2,}/g, ' ');
const long = (txt: string): boolean => pyStrip(txt).split(/\s+/).filter((w) => w !== '').length > 32 || Array.from(txt).length > 64;

interface Box {
  text: string;
  layout: string;
  position: Position;
}

export interface PaperParts {
  title: string;
  authors: string;
  abstract?: Box;
  /** the blocks chunked by section */
  sections: Box[];
}

/** Title, authors, abstract and body blocks as RAGFlow's paper Pdf finds them. */
export function paperParts(input: readonly Section[]): PaperParts {
  const boxes: Box[] = input.map((s) => ({ text: cleanBox(s.text), layout: s.layout ?? 'text', position: s.position ?? [s.page ?? 0, 0, 0, 0, 0] }));
  const body = (from: number): Box[] => boxes.slice(from).filter((b) => /^(text|title)/.test(b.layout));
  // the task's pages start past the first page (sections carry absolute pages)
  if (boxes.length > 0 && boxes[0]!.position[0] > 0) return { title: '', authors: '', sections: body(0) };
  let title = '';
  const authors: string[] = [];
  for (let i = 0; i < Math.min(32, boxes.length - 1); ) {
    const b = boxes[i]!;
    i++;
    if (!b.layout.includes('title')) continue;
    title = b.text;
    if (begins(title)) {
      title = '';
      break;
    }
    for (let j = 0; j < 3 && i + j < boxes.length; j++) {
      const candidate = boxes[i + j]!.text;
      if (begins(candidate) || candidate.includes('@')) break;
      authors.push(candidate);
    }
    break;
  }
  let abstract: Box | undefined;
  let i = 0;
  while (i + 1 < Math.min(32, boxes.length)) {
    const b = boxes[i]!;
    i++;
    const txt = pyStrip(b.text.toLowerCase());
    if (!ABSTRACT.test(txt)) continue;
    if (long(txt)) {
      abstract = { ...b, text: txt };
      break;
    }
    const next = pyStrip(boxes[i]!.text.toLowerCase());
    if (long(next)) abstract = { ...boxes[i]!, text: next };
    i++;
    break;
  }
  if (!abstract) i = 0;
  return { title, authors: authors.join(' '), ...(abstract ? { abstract } : {}), sections: body(i) };
}

/** The paper's chunks: the abstract, then one per section of the body blocks. */
export function paperChunks(doc: ParsedDocument): MergedChunk[] {
  const parts = paperParts(doc.sections);
  const authors_tks = tokenize(parts.authors);
  const common: Record<string, unknown> = { authors_tks, authors_sm_tks: fineGrainedTokenize(authors_tks) };
  if (parts.title) {
    // RAGFlow tokenizes the file name when there is no title, as buildChunks does
    const title_tks = tokenize(parts.title);
    Object.assign(common, { title_tks, title_sm_tks: fineGrainedTokenize(title_tks) });
  }
  const out: MergedChunk[] = [];
  if (parts.abstract) {
    const { text, position } = parts.abstract;
    out.push({
      text,
      tokens: countTokens(text),
      pages: [position[0]],
      positions: [throughTag(position)],
      fields: { ...common, important_kwd: IMPORTANT, important_tks: IMPORTANT.join(' ') },
    });
  }
  const sections = parts.sections;
  const [mostLevel, levels] = titleFrequency(
    bulletsCategory(sections.map((s) => s.text)),
    sections.map((s) => [s.text, s.layout] as const),
  );
  const sids = sectionIds(levels, mostLevel);
  const groups: Box[][] = [];
  let lastSid = -2;
  sections.forEach((s, k) => {
    if (sids[k] === lastSid && groups.length > 0) groups[groups.length - 1]!.push(s);
    else {
      groups.push([s]);
      lastSid = sids[k]!;
    }
  });
  for (const g of groups) {
    const text = g.map((s) => s.text).join('\n');
    if (text.trim() === '') continue;
    const positions = g.map((s) => s.position);
    out.push({ text, tokens: countTokens(text), pages: [...new Set(positions.map((p) => p[0]))], positions: positions.map(throughTag), fields: { ...common } });
  }
  return out;
}

export const paperMethod: ChunkMethodModule = {
  id: 'paper',
  readsFormat: (formatId) => formatId === 'pdf',
  formatFor: (named) => pdfLayoutFormat(named),
  chunk: (doc) => paperChunks(doc),
};
