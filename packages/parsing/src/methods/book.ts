import { countTokens } from '@ragline/tokenizer';
import type { FormatInput, FormatParser } from '../formats/format.js';
import { naiveMerge } from '../merge.js';
import type { MergedChunk, ParsedDocument, Section } from '../types.js';
import { bulletsCategory, hierarchicalMerge, isEnglish, makeColonAsTitle, pyStrip, removeContentsTable, type LaidSection } from './hierarchy.js';
import { linesFormat, textChunks } from './laws.js';
import { UNPLACED, type ChunkMethodModule } from './method.js';
import { pdfBulletBlocksFormat } from './pdf-layout.js';
import { tagged, taggedChunks } from './pdf-tags.js';

const BOOK_CHUNK_TOKEN_NUM = 256;
const BOOK_DELIMITER = '\n。；！？';

/**
 * RAGFlow's book chunk texts of sections: with a bullet family hierarchical_merge to depth 5, else
 * naive_merge with the sections as they are (layout tags dropped).
 */
function bookMerge(sections: LaidSection[], parserConfig: Record<string, unknown>): string[] | MergedChunk[] {
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
 * RAGFlow's book chunk texts of text lines: contents table removed (English decided by the lines
 * themselves; RAGFlow looks at a random sample of 200), then `bookMerge`.
 */
export function bookTextChunks(lines: readonly string[], parserConfig: Record<string, unknown>): string[] | MergedChunk[] {
  const sections: LaidSection[] = lines.map((l) => [l, '']);
  removeContentsTable(sections, isEnglish(sections.map(([t]) => t)));
  return bookMerge(sections, parserConfig);
}

const asChunks = (out: string[] | MergedChunk[]): MergedChunk[] =>
  out.length > 0 && typeof out[0] === 'string' ? textChunks(out as string[]) : (out as MergedChunk[]);

/** Python `re.sub(r"\.[a-zA-Z]+$", "", filename)`, "Untitled Document" when nothing is left. */
const docName = (name: string): string => name.replace(/\.[a-zA-Z]+$/, '') || 'Untitled Document';

/**
 * RAGFlow's naive Docx table caption: "Table Location: <document> > <heading> > ..." with the
 * nearest Word heading before the table and, above it, the nearest heading of each higher level.
 */
function tableCaption(before: readonly Section[], name: string): string {
  const headings = before.filter((s) => !s.table && s.heading !== undefined && pyStrip(s.text) !== '');
  const nearest = headings.at(-1);
  if (!nearest) return '';
  const titles: [number, string][] = [[nearest.heading!, pyStrip(nearest.text)]];
  let level = nearest.heading!;
  while (level > 1) {
    const parent = headings.findLast((s) => s.heading! < level);
    if (!parent) break;
    titles.push([parent.heading!, pyStrip(parent.text)]);
    level = parent.heading!;
  }
  titles.sort((a, b) => a[0] - b[0]);
  return [docName(name), ...titles.map(([, t]) => t)].join(' > ');
}

/**
 * DOCX as RAGFlow's book reads it (naive's Docx): body paragraphs and tables in document order
 * (laws' DOCX reader), each table's HTML with RAGFlow's location caption.
 */
function bookDocxFormat(named: FormatParser): FormatParser {
  const lines = linesFormat(named);
  return {
    ...lines,
    async parse(input: FormatInput): Promise<ParsedDocument> {
      const doc = await lines.parse(input);
      const sections = doc.sections.map((s, i) => {
        if (!s.table) return s;
        const caption = tableCaption(doc.sections.slice(0, i), input.name);
        return caption ? { ...s, text: s.text.replace(/^<table>/, `<table><caption>Table Location: ${caption}</caption>`) } : s;
      });
      return { ...doc, sections };
    },
  };
}

/**
 * RAGFlow's book chunks of a DOCX: every table a chunk of its own (first), then the non-empty
 * paragraphs (stripped) with the contents table removed, as text lines; a table stands as an empty
 * line among them, as in RAGFlow.
 */
function bookDocxChunks(sections: readonly Section[], parserConfig: Record<string, unknown>): MergedChunk[] {
  const tables: MergedChunk[] = sections
    .filter((s) => s.table)
    .map((s) => ({ text: s.text, tokens: countTokens(s.text), pages: [], positions: [], fields: { ...UNPLACED, top_int: [], doc_type_kwd: 'table' } }));
  const laid: LaidSection[] = sections.flatMap((s): LaidSection[] => {
    if (s.table) return [['', '']];
    const text = pyStrip(s.text.replace(/\u3000/g, ' '));
    return text ? [[text, '']] : [];
  });
  removeContentsTable(laid, isEnglish(laid.map(([t]) => t)));
  return [...tables, ...asChunks(bookMerge(laid, parserConfig))];
}

/**
 * RAGFlow's book chunks of PDF blocks: each with its position tag and layout type (a title block
 * is a title level of hierarchical_merge); no contents-table removal, as RAGFlow's PDF branch.
 */
function bookPdfChunks(sections: readonly Section[], parserConfig: Record<string, unknown>): MergedChunk[] {
  const out = bookMerge(
    sections.map((s): LaidSection => [tagged(s), s.layout ?? '']),
    parserConfig,
  );
  if (out.length === 0 || typeof out[0] === 'string') return taggedChunks(out as string[]);
  return taggedChunks((out as MergedChunk[]).map((c) => c.text));
}

/**
 * RAGFlow's `book` method (rag/app/book.py) on TXT, Markdown (read as TXT lines; RAGFlow's book
 * refuses Markdown), DOCX and PDF: a body line with the nearest title of each level above it,
 * short ones packed to 218 tokens; a book without bullets is merged naively.
 */
export const bookMethod: ChunkMethodModule = {
  id: 'book',
  readsFormat: (formatId) => formatId === 'text' || formatId === 'markdown' || formatId === 'docx' || formatId === 'pdf',
  formatFor: (named) => pdfBulletBlocksFormat(named, (f) => (f.id === 'docx' ? bookDocxFormat(f) : linesFormat(f))),
  chunk(doc: ParsedDocument, parserConfig: Record<string, unknown>): MergedChunk[] {
    if (doc.format === 'docx') return bookDocxChunks(doc.sections, parserConfig);
    if (doc.format === 'pdf') return bookPdfChunks(doc.sections, parserConfig);
    return asChunks(bookTextChunks(doc.sections.map((s) => s.text), parserConfig));
  },
};
