import { countTokens } from '@ragline/tokenizer';
import type { MergedChunk, Section } from '../types.js';
import { BULLET_PATTERN, bulletsCategory, notBullet, pyStrip } from './hierarchy.js';

/**
 * RAGFlow's PDF position tags: its PDF readers append "@@<page>\t<x0>\t<x1>\t<top>\t<bottom>##"
 * (1-based page, one decimal) to every box text, its merges (tree_merge, hierarchical_merge,
 * naive_merge) move the tags along with the text, and tokenize_chunks takes each chunk's positions
 * from its tags and removes them. The laws and book methods on PDF do the same here, so the title
 * and bullet rules see the very strings RAGFlow's see (a tag's tabs count as word breaks).
 */

const TAG = /@@[\t0-9.-]+?##/g;
const POSITION_TAG = /@@[0-9-]+\t[0-9.\t]+##/g;

/** A block's text with its position tag (Python's "{:.1f}" and toFixed(1) round the same binary value alike). */
export function tagged(section: Section): string {
  const [page, x0, x1, top, bottom] = section.position ?? [section.page ?? 0, 0, 0, 0, 0];
  return `${section.text}@@${page + 1}\t${x0.toFixed(1)}\t${x1.toFixed(1)}\t${top.toFixed(1)}\t${bottom.toFixed(1)}##`;
}

/** RAGFlow's extract_positions: every tag as [0-based page, x0, x1, top, bottom]. */
export function tagPositions(text: string): number[][] {
  const out: number[][] = [];
  for (const m of text.matchAll(POSITION_TAG)) {
    const [pn, ...rest] = m[0].replace(/^@+|#+$/g, '').split('\t');
    const [left = 0, right = 0, top = 0, bottom = 0] = rest.map(Number);
    // a box over two pages has pages "3-4": the first page is where it starts
    const page = Number(pn!.split('-')[0]) - 1;
    // crop() widens a box narrower than 10 points
    out.push([page, left, Math.max(left + 10, right), top, bottom]);
  }
  return out;
}

/** A box as RAGFlow's chunks get it back from its tag: coordinates to one decimal, at least 10 points wide. */
export function throughTag(position: readonly number[]): number[] {
  const [page = 0, x0 = 0, x1 = 0, top = 0, bottom = 0] = position;
  return tagPositions(tagged({ text: '', position: [page, x0, x1, top, bottom] }))[0]!;
}

export const removeTags = (text: string): string => text.replace(TAG, '');

/** tokenize_chunks over tagged chunk texts: blank ones dropped, positions from the tags, tags removed. */
export function taggedChunks(texts: readonly string[]): MergedChunk[] {
  return texts.flatMap((ck) => {
    if (ck.trim() === '') return [];
    const positions = tagPositions(ck);
    const text = removeTags(ck);
    return [{ text, tokens: countTokens(text), pages: [...new Set(positions.map((p) => p[0]!))], positions }];
  });
}

/**
 * PDF blocks cut before every line of theirs that starts with a bullet of the document's family:
 * formats/pdf.ts joins lines with small gaps into one block, where RAGFlow's layout model gives
 * each article ("第二条 …", "（一）…", "2. …") a box of its own. `lines[i]` are the starts of
 * block i's lines (pdf-layout.ts); the pieces keep the block's box. Markdown-style families are
 * left alone (no PDF prints "#" headings).
 */
export function splitAtBullets(sections: readonly Section[], lines: readonly (readonly string[])[]): Section[] {
  const bull = bulletsCategory(sections.map((s) => s.text));
  if (bull < 0 || bull === 4) return [...sections];
  const patterns = BULLET_PATTERN[bull]!;
  const out: Section[] = [];
  sections.forEach((s, k) => {
    const text = s.text;
    const cuts: number[] = [];
    let cursor = 1;
    for (const line of (lines[k] ?? []).slice(1)) {
      const head = pyStrip(line).slice(0, 10);
      if (!head) continue;
      const at = text.indexOf(head, cursor);
      if (at < 0) continue;
      cursor = at + 1;
      const rest = text.slice(at);
      if (patterns.some((p) => p.test(rest)) && !notBullet(rest)) cuts.push(at);
    }
    let from = 0;
    for (const c of [...cuts, text.length]) {
      const piece = text.slice(from, c).trim();
      if (piece) out.push({ ...s, text: piece });
      from = c;
    }
  });
  return out;
}
