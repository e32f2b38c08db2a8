import { countTokens } from '@ragline/tokenizer';
import { decodeText } from '../decode.js';
import type { FormatInput, FormatParser } from '../formats/format.js';
import type { MergedChunk, ParsedDocument, Section } from '../types.js';
import { bulletsCategory, docxQuestionLevel, docxTree, removeContentsTable, treeMerge } from './hierarchy.js';
import type { ChunkMethodModule } from './method.js';
import { parseQaDocx } from './qa-docx.js';

/** RAGFlow's `lang` as the method sees it: English unless the knowledge base says otherwise ('Chinese' is RAGFlow's default). */
export function isEnglishLanguage(parserConfig: Record<string, unknown>): boolean {
  const lang = parserConfig['language'];
  return typeof lang === 'string' && lang.toLowerCase() === 'english';
}

/**
 * A file as RAGFlow's laws and book methods read it: text (TXT, Markdown) as its "\n"-separated
 * lines with the empty ones left out ("\r" and other spaces kept, as RAGFlow's get_text split);
 * a DOCX as its body paragraphs with their heading levels and its tables (see qa-docx.ts).
 */
export function linesFormat(named: FormatParser): FormatParser {
  return {
    id: named.id,
    extensions: named.extensions,
    paged: false,
    async parse(input: FormatInput): Promise<ParsedDocument> {
      if (named.id === 'docx') return parseQaDocx(input);
      const { text, encoding, replaced } = decodeText(input.data, input.name);
      const notes = replaced > 0 ? [`${replaced} undecodable byte sequence(s) replaced while decoding ${encoding}`] : [];
      const sections: Section[] = text
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => ({ text: line }));
      return { sections, format: named.id, encoding, notes };
    },
  };
}

/** Chunk texts as RAGFlow's tokenize_chunks keeps them (blank ones dropped). */
export function textChunks(texts: readonly string[]): MergedChunk[] {
  return texts
    .filter((t) => t.trim() !== '')
    .map((text) => ({ text, tokens: countTokens(text), pages: [], positions: [] }));
}

/** Below every heading and bullet level: RAGFlow puts a DOCX table into the enclosing section's body. */
const TABLE_LEVEL = 10 ** 6;

/**
 * RAGFlow's laws Docx reader: each non-empty paragraph at its docx_question_level (Word heading N,
 * else its bullet level), tables below every level, and the title tree with h2_level as depth.
 * Mammoth gives the tables apart from the paragraphs, so they come after the last paragraph here
 * (RAGFlow has them in document order, in the body of the section they stand in).
 */
export function lawsDocxChunks(sections: readonly Section[]): string[] {
  const paragraphs = sections.filter((s) => !s.table);
  const bull = bulletsCategory(paragraphs.map((p) => p.text));
  const lines: [number, string][] = [];
  const levels = new Set<number>();
  for (const p of paragraphs) {
    const [level, text] = docxQuestionLevel(p.text, p.heading, bull);
    if (text.replace(/^\n+|\n+$/g, '') === '') continue;
    lines.push([level, text]);
    levels.add(level);
  }
  for (const t of sections.filter((s) => s.table)) lines.push([TABLE_LEVEL, t.text]);
  return docxTree(lines, levels);
}

/** RAGFlow's laws chunks of text lines: contents table removed, bullet family found, tree_merge to depth 2. */
export function lawsTextChunks(lines: readonly string[], english: boolean): string[] {
  const sections = [...lines];
  removeContentsTable(sections, english);
  return treeMerge(bulletsCategory(sections), sections, 2);
}

/**
 * RAGFlow's `laws` method (rag/app/laws.py) on TXT, Markdown and DOCX: articles, sections and
 * chapters found by RAGFlow's bullet patterns (or Word heading styles), every body chunk carrying
 * its title path. PDF needs RAGFlow's layout analysis and falls back to `naive`.
 */
export const lawsMethod: ChunkMethodModule = {
  id: 'laws',
  readsFormat: (formatId) => formatId === 'text' || formatId === 'markdown' || formatId === 'docx',
  formatFor: linesFormat,
  chunk(doc: ParsedDocument, parserConfig: Record<string, unknown>): MergedChunk[] {
    if (doc.format === 'docx') return textChunks(lawsDocxChunks(doc.sections));
    return textChunks(lawsTextChunks(doc.sections.map((s) => s.text), isEnglishLanguage(parserConfig)));
  },
};
