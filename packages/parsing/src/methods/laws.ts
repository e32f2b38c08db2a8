import { countTokens } from '@ragline/tokenizer';
import { isTag, type AnyNode } from 'domhandler';
import { parseDocument } from 'htmlparser2';
import { decodeText } from '../decode.js';
import type { FormatInput, FormatParser } from '../formats/format.js';
import type { MergedChunk, ParsedDocument, Section } from '../types.js';
import { bulletsCategory, docxQuestionLevel, docxTree, removeContentsTable, treeMerge } from './hierarchy.js';
import type { ChunkMethodModule } from './method.js';
import { pdfBulletBlocksFormat } from './pdf-layout.js';
import { tagged, taggedChunks } from './pdf-tags.js';
import { parseQaDocx } from './qa-docx.js';

/** RAGFlow's `lang` as the method sees it: English unless the knowledge base says otherwise ('Chinese' is RAGFlow's default). */
export function isEnglishLanguage(parserConfig: Record<string, unknown>): boolean {
  const lang = parserConfig['language'];
  return typeof lang === 'string' && lang.toLowerCase() === 'english';
}

/**
 * A file as RAGFlow's laws and book methods read it: text (TXT, Markdown) as its "\n"-separated
 * lines with the empty ones left out ("\r" and other spaces kept, as RAGFlow's get_text split);
 * a DOCX as its body paragraphs with their heading levels and its tables, in document order (see qa-docx.ts).
 */
export function linesFormat(named: FormatParser): FormatParser {
  return {
    id: named.id,
    extensions: named.extensions,
    paged: false,
    async parse(input: FormatInput): Promise<ParsedDocument> {
      if (named.id === 'docx') return inDocumentOrder(input, await parseQaDocx(input));
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

/**
 * How many body paragraphs come before each table, by the same walk of Mammoth's HTML as
 * qa-docx.ts makes (which gives the tables apart from the paragraphs).
 */
async function paragraphsBeforeTables(input: FormatInput): Promise<number[]> {
  const buffer = Buffer.from(input.data.buffer, input.data.byteOffset, input.data.byteLength);
  const { default: mammoth } = await import('mammoth');
  const noImages = mammoth.images.imgElement(() => Promise.resolve({ src: '' }));
  const { value: html } = await mammoth.convertToHtml(
    { buffer },
    {
      styleMap: ["p[style-name='Title'] => p:fresh", "p[style-name='Subtitle'] => p:fresh"],
      convertImage: noImages,
      ignoreEmptyParagraphs: false,
      externalFileAccess: false,
    },
  );
  const before: number[] = [];
  let paragraphs = 0;
  const walk = (nodes: readonly AnyNode[]): void => {
    for (const node of nodes) {
      if (!isTag(node)) continue;
      if (/^h[1-6]$/.test(node.name) || node.name === 'p') paragraphs++;
      else if (node.name === 'table') before.push(paragraphs);
      else if (node.name === 'li') {
        if (/^(footnote|endnote)-/.test(node.attribs['id'] ?? '')) continue;
        paragraphs++;
        walk(node.children.filter((c) => isTag(c) && (c.name === 'ul' || c.name === 'ol')));
      } else walk(node.children);
    }
  };
  walk(parseDocument(html).children);
  return before;
}

/** The DOCX sections with each table back between the paragraphs it stands between, as python-docx reads the body. */
async function inDocumentOrder(input: FormatInput, doc: ParsedDocument): Promise<ParsedDocument> {
  const tables = doc.sections.filter((s) => s.table);
  const paragraphs = doc.sections.filter((s) => !s.table);
  if (tables.length === 0) return doc;
  const before = await paragraphsBeforeTables(input);
  const sections: Section[] = [];
  let t = 0;
  paragraphs.forEach((p, i) => {
    while (t < tables.length && (before[t] ?? paragraphs.length) <= i) sections.push(tables[t++]!);
    sections.push(p);
  });
  while (t < tables.length) sections.push(tables[t++]!);
  return { ...doc, sections };
}

/**
 * Chunk texts as RAGFlow's tokenize_chunks keeps them: blank ones dropped, each chunk's position
 * its index in the list before that (add_positions(d, [[ii] * 5]) counts the dropped ones too).
 */
export function textChunks(texts: readonly string[]): MergedChunk[] {
  return texts.flatMap((text, ii) =>
    text.trim() === '' ? [] : [{ text, tokens: countTokens(text), pages: [], positions: [[ii, ii, ii, ii, ii]] }],
  );
}

/** Below every heading and bullet level: RAGFlow puts a DOCX table into the enclosing section's body. */
const TABLE_LEVEL = 10 ** 6;

/**
 * RAGFlow's laws Docx reader: each non-empty paragraph at its docx_question_level (Word heading N,
 * else its bullet level), tables below every level, and the title tree with h2_level as depth.
 * The sections are in document order (see `inDocumentOrder`), so a table joins the body of the
 * section it stands in.
 */
export function lawsDocxChunks(sections: readonly Section[]): string[] {
  const paragraphs = sections.filter((s) => !s.table);
  const bull = bulletsCategory(paragraphs.map((p) => p.text));
  const lines: [number, string][] = [];
  const levels = new Set<number>();
  for (const p of sections) {
    if (p.table) {
      lines.push([TABLE_LEVEL, p.text]);
      continue;
    }
    const [level, text] = docxQuestionLevel(p.text, p.heading, bull);
    if (text.replace(/^\n+|\n+$/g, '') === '') continue;
    lines.push([level, text]);
    levels.add(level);
  }
  return docxTree(lines, levels);
}

/** RAGFlow's laws chunks of text lines: contents table removed, bullet family found, tree_merge to depth 2. */
export function lawsTextChunks(lines: readonly string[], english: boolean): string[] {
  const sections = [...lines];
  removeContentsTable(sections, english);
  return treeMerge(bulletsCategory(sections), sections, 2);
}

/**
 * RAGFlow's `laws` method (rag/app/laws.py) on TXT, Markdown, DOCX and PDF: articles, sections and
 * chapters found by RAGFlow's bullet patterns (or Word heading styles), every body chunk carrying
 * its title path. A PDF's text blocks (cut at the articles they hold, see splitAtBullets) go
 * through the text rules with RAGFlow's position tags, which give each chunk its boxes.
 */
export const lawsMethod: ChunkMethodModule = {
  id: 'laws',
  readsFormat: (formatId) => formatId === 'text' || formatId === 'markdown' || formatId === 'docx' || formatId === 'pdf',
  formatFor: (named) => pdfBulletBlocksFormat(named, linesFormat),
  chunk(doc: ParsedDocument, parserConfig: Record<string, unknown>): MergedChunk[] {
    if (doc.format === 'docx') return textChunks(lawsDocxChunks(doc.sections));
    if (doc.format === 'pdf') return taggedChunks(lawsTextChunks(doc.sections.map(tagged), isEnglishLanguage(parserConfig)));
    return textChunks(lawsTextChunks(doc.sections.map((s) => s.text), isEnglishLanguage(parserConfig)));
  },
};
