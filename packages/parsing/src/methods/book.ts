import { naiveMerge } from '../merge.js';
import type { MergedChunk, ParsedDocument } from '../types.js';
import { bulletsCategory, hierarchicalMerge, isEnglish, makeColonAsTitle, removeContentsTable, type LaidSection } from './hierarchy.js';
import { linesFormat, textChunks } from './laws.js';
import type { ChunkMethodModule } from './method.js';

const BOOK_CHUNK_TOKEN_NUM = 256;
const BOOK_DELIMITER = '\n。；！？';

/**
 * RAGFlow's book chunk texts of text lines: contents table removed (English decided by the lines
 * themselves; RAGFlow looks at a random sample of 200), then with a bullet family
 * hierarchical_merge to depth 5, else naive_merge with the lines as sections.
 */
export function bookTextChunks(lines: readonly string[], parserConfig: Record<string, unknown>): string[] | MergedChunk[] {
  const sections: LaidSection[] = lines.map((l) => [l, '']);
  removeContentsTable(sections, isEnglish(sections.map(([t]) => t)));
  makeColonAsTitle(sections);
  const bull = bulletsCategory(sections.map(([t]) => t));
  if (bull >= 0) return hierarchicalMerge(bull, sections, 5).map((ck) => ck.join('\n'));
  const size = Number(parserConfig['chunk_token_num']);
  const delimiter = parserConfig['delimiter'];
  return naiveMerge(
    sections.map(([text]) => ({ text })),
    {
      chunkTokenNum: Number.isFinite(size) && size >= 1 ? Math.floor(size) : BOOK_CHUNK_TOKEN_NUM,
      delimiter: typeof delimiter === 'string' && delimiter.length > 0 ? delimiter : BOOK_DELIMITER,
    },
  ).flatMap((c, ii) => (c.text.trim() === '' ? [] : [{ ...c, positions: c.positions.length > 0 ? c.positions : [[ii, ii, ii, ii, ii]] }]));
}

/**
 * RAGFlow's `book` method (rag/app/book.py) on TXT (and Markdown, read as TXT lines; RAGFlow's book
 * refuses Markdown): a body line with the nearest title of each level above it, short ones packed
 * to 218 tokens; a book without bullets is merged naively. DOCX and PDF need RAGFlow's naive DOCX
 * reader and layout analysis and fall back to `naive`.
 */
export const bookMethod: ChunkMethodModule = {
  id: 'book',
  readsFormat: (formatId) => formatId === 'text' || formatId === 'markdown',
  formatFor: linesFormat,
  chunk(doc: ParsedDocument, parserConfig: Record<string, unknown>): MergedChunk[] {
    const out = bookTextChunks(doc.sections.map((s) => s.text), parserConfig);
    return out.length > 0 && typeof out[0] === 'string' ? textChunks(out as string[]) : (out as MergedChunk[]);
  },
};
