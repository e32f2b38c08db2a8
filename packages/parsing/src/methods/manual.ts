import { countTokens } from '@ragline/tokenizer';
import type { FormatInput, FormatParser } from '../formats/format.js';
import type { MergedChunk, OutlineEntry, ParsedDocument, Position, Section } from '../types.js';
import { BULLET_PATTERN, bulletsCategory, notBullet, notTitle, pyStrip } from './hierarchy.js';
import { UNPLACED, type ChunkMethodModule } from './method.js';
import { pdfLayoutFormat } from './pdf-layout.js';
import { throughTag } from './pdf-tags.js';
import { headingPairs, parseQaDocx } from './qa-docx.js';

/**
 * RAGFlow's `manual` method (rag/app/manual.py). PDF: the text blocks (formats/pdf.ts, with their
 * layout type, see pdf-layout.ts) get a title level, from the PDF outline when it has more than one
 * bookmark per 33 blocks, else from RAGFlow's title_frequency (bullet patterns, then title blocks);
 * a new section starts at every change of level at or above the most frequent title level, and
 * blocks are packed into chunks while the chunk is under 32 tokens, or under 1024 tokens within
 * one section. DOCX: every Word heading opens a question stack, and the paragraphs under it become
 * one chunk headed by the headings above it; each table is a chunk of its own.
 */

/** Python `len()`: code points. */
const chars = (s: string): string[] => Array.from(s);

/** RAGFlow's clean-up of a PDF box text: runs of tabs, spaces or ideographic spaces become one space. */
const cleanBox = (text: string): string => pyStrip(text).replace(/[\t \u3000]{2,}/g, ' ');

/** How much of outline title `t` the start of `txt` shares, as RAGFlow compares them (character bigrams). */
export function outlineOverlap(t: string, txt: string): number {
  const a = chars(t);
  const b = chars(txt);
  const tks = new Set<string>();
  for (let i = 0; i < a.length - 1; i++) tks.add(a[i]! + a[i + 1]!);
  const tks2 = new Set<string>();
  for (let i = 0; i < Math.min(a.length, b.length - 1); i++) tks2.add(b[i]! + b[i + 1]!);
  let common = 0;
  for (const x of tks) if (tks2.has(x)) common++;
  return common / Math.max(tks.size, tks2.size, 1);
}

/**
 * RAGFlow's title_frequency: each section's level (the bullet pattern it starts with, a title block
 * one below the bullets, everything else one further down) and the most frequent title level.
 * Without a bullet family every section is body and the body level is returned.
 */
export function titleFrequency(bull: number, sections: readonly (readonly [string, string])[]): [number, number[]] {
  // Python's BULLET_PATTERN[-1] is the last family
  const patterns = BULLET_PATTERN.at(bull)!;
  const size = patterns.length;
  const levels = sections.map(() => size + 1);
  if (sections.length === 0 || bull < 0) return [size + 1, levels];
  sections.forEach(([txt, layout], i) => {
    const j = patterns.findIndex((p) => p.test(pyStrip(txt)) && !notBullet(txt));
    if (j >= 0) levels[i] = j;
    else if (/(title|head)/.test(layout) && !notTitle(txt.split('@')[0]!)) levels[i] = size;
  });
  const counts = new Map<number, number>();
  for (const l of levels) counts.set(l, (counts.get(l) ?? 0) + 1);
  // Counter in first-seen order, sorted by count (stable): ties go to the level seen first
  const byCount = [...counts.entries()].sort((x, y) => y[1] - x[1]);
  const most = byCount.find(([level]) => level <= size);
  return [most ? most[0] : size + 1, levels];
}

/** Section ids: a new one at each change of level at or above `mostLevel`. */
export function sectionIds(levels: readonly number[], mostLevel: number): number[] {
  let sid = 0;
  return levels.map((lvl, i) => {
    if (lvl <= mostLevel && i > 0 && lvl !== levels[i - 1]) sid++;
    return sid;
  });
}

/** The levels of PDF blocks from the outline: a block that starts like a bookmark title has its depth, others are below them all. */
function outlineLevels(texts: readonly string[], outline: readonly OutlineEntry[]): [number, number[]] {
  const maxLvl = Math.max(...outline.map((o) => o.depth));
  const levels = texts.map((txt) => outline.find((o) => outlineOverlap(o.title, txt) > 0.8)?.depth ?? maxLvl + 1);
  return [Math.max(0, maxLvl - 1), levels];
}

interface ManualBox {
  text: string;
  sid: number;
  position: Position;
}

/** RAGFlow's manual chunks of PDF blocks (with layout types) and the PDF outline. */
export function manualPdfChunks(sections: readonly Section[], outline: readonly OutlineEntry[]): MergedChunk[] {
  const boxes = sections.map((s) => ({ text: cleanBox(s.text), layout: s.layout ?? '', position: s.position ?? ([s.page ?? 0, 0, 0, 0, 0] as Position) }));
  if (boxes.length === 0) return [];
  const [mostLevel, levels] =
    outline.length / boxes.length > 0.03
      ? outlineLevels(
          boxes.map((b) => b.text),
          outline,
        )
      : titleFrequency(
          bulletsCategory(boxes.map((b) => b.text)),
          boxes.map((b) => [b.text, b.layout] as const),
        );
  const sids = sectionIds(levels, mostLevel);
  const ordered: ManualBox[] = boxes
    .map((b, i) => ({ text: b.text, sid: sids[i]!, position: b.position }))
    // RAGFlow sorts by page, top, left of each box's first position (Python's sort is stable, as JS's)
    .sort((a, b) => a.position[0] - b.position[0] || a.position[3] - b.position[3] || a.position[1] - b.position[1]);
  const chunks: { texts: string[]; positions: Position[] }[] = [];
  let lastSid = -2;
  let tkCnt = 0;
  for (const box of ordered) {
    const n = countTokens(box.text);
    if ((tkCnt < 32 || (tkCnt < 1024 && (box.sid === lastSid || box.sid === -1))) && chunks.length > 0) {
      chunks[chunks.length - 1]!.texts.push(box.text);
      chunks[chunks.length - 1]!.positions.push(box.position);
      tkCnt += n;
      continue;
    }
    chunks.push({ texts: [box.text], positions: [box.position] });
    tkCnt = n;
    if (box.sid > -1) lastSid = box.sid;
  }
  return chunks.flatMap(({ texts, positions }) => {
    const text = texts.join('\n');
    if (text.trim() === '') return [];
    // one position per box, as RAGFlow's crop gives them back
    return [{ text, tokens: countTokens(text), pages: [...new Set(positions.map((p) => p[0]))], positions: positions.map(throughTag) }];
  });
}

/**
 * RAGFlow's manual Docx reader: a paragraph with a Word "Heading N" style (N <= 6) is a question,
 * every other paragraph (blank ones as empty lines) goes to the answer; an answer becomes a chunk
 * "<the headings above it>\n<answer>" when the next heading comes (text before the first heading
 * has no heading and is left out, as in RAGFlow). Tables come first, one chunk each.
 */
export function manualDocxChunks(sections: readonly Section[]): MergedChunk[] {
  const out: MergedChunk[] = [];
  // RAGFlow's tokenize() / tokenize_table without positions: no page_num_int, position_int or top_int
  const chunk = (text: string, fields?: Record<string, unknown>): MergedChunk => ({ text, tokens: countTokens(text), pages: [], positions: [], fields: { ...UNPLACED, top_int: [], ...fields } });
  for (const t of sections) if (t.table && t.text) out.push(chunk(t.text, { doc_type_kwd: 'table' }));
  for (const { question, answer } of headingPairs(sections.filter((s) => !s.table), pyStrip)) out.push(chunk(`${question}\n${answer}`));
  return out.filter((c) => c.text.trim() !== '');
}

/** DOCX as the qa reader gives it (paragraphs with heading levels, tables as RAGFlow's HTML); PDF with layout. */
function manualFormat(named: FormatParser): FormatParser {
  return pdfLayoutFormat(named, (f) =>
    f.id === 'docx' ? { id: f.id, extensions: f.extensions, paged: false, parse: (input: FormatInput) => parseQaDocx(input) } : f,
  );
}

export const manualMethod: ChunkMethodModule = {
  id: 'manual',
  readsFormat: (formatId) => formatId === 'pdf' || formatId === 'docx',
  formatFor: manualFormat,
  chunk(doc: ParsedDocument): MergedChunk[] {
    if (doc.format === 'docx') return manualDocxChunks(doc.sections);
    return manualPdfChunks(doc.sections, doc.outline ?? []);
  },
};
