import { marked } from 'marked';
import { countTokens } from '@ragline/tokenizer';
import { fineGrainedTokenize, tokenize } from '@ragline/rag-tokenizer';
import type { FormatInput, FormatParser } from '../formats/format.js';
import type { MergedChunk, ParsedDocument, Section } from '../types.js';
import { UNPLACED, type ChunkMethodModule } from './method.js';
import { headingPairs, parseQaDocx } from './qa-docx.js';
import { csvRecord, extractMessage, readRows, sheetPairs, txtDelimiter, type RowPair } from './rows.js';

/**
 * RAGFlow's `qa` method (rag/app/qa.py): every question/answer pair is one chunk whose
 * content_with_weight is "Question: q\tAnswer: a" ("问题：q\t回答：a" unless the knowledge base
 * language is English), whose content_ltks / content_sm_ltks come from the question alone and whose
 * top_int is the pair's row number as RAGFlow counts it. Read here: spreadsheets (first two non-empty
 * cells of each row), CSV/TSV and TXT (two-field lines, other lines continue the answer or are
 * counted as failures) and Markdown (headings are questions, nested headings joined, the body
 * rendered as HTML) and DOCX (paragraphs in Heading styles are questions; tables are chunks of their
 * own). PDF is not read (it falls back to `naive`).
 */

type QaKind = 'sheet' | 'csv' | 'txt' | 'markdown' | 'docx';

/** RAGFlow's rmPrefix: a leading "Q:", "Answer:", "问题：", ... label is dropped. */
export function rmPrefix(text: string): string {
  return text.trim().replace(/^(问题|答案|回答|user|assistant|Q|A|Question|Answer|问|答)[\t:： ]+/i, '');
}

/** RAGFlow qa.py on .txt: tab or comma (whichever splits more lines in two) separates Q from A. */
function txtPairs(lines: readonly string[]): { pairs: RowPair[]; fails: string[] } {
  const delimiter = txtDelimiter(lines);
  const pairs: RowPair[] = [];
  const fails: string[] = [];
  let question = '';
  let answer = '';
  lines.forEach((line, i) => {
    const arr = line.split(delimiter);
    if (arr.length !== 2) {
      if (question) answer += `\n${line}`;
      else fails.push(String(i + 1));
      return;
    }
    // a question whose answer is still empty is replaced by the next one, as in RAGFlow
    if (question && answer) pairs.push({ question, answer, row: i });
    [question, answer] = arr as [string, string];
  });
  if (question) pairs.push({ question, answer, row: lines.length });
  return { pairs, fails };
}

/** RAGFlow qa.py on .csv: tab when any line has one, else comma; a record of two fields is a pair. */
function csvPairs(lines: readonly string[]): { pairs: RowPair[]; fails: string[] } {
  const delimiter = lines.some((l) => l.includes('\t')) ? '\t' : ',';
  const pairs: RowPair[] = [];
  const fails: string[] = [];
  let question = '';
  let answer = '';
  let at = 0;
  for (let i = 0; at < lines.length; i++) {
    const { fields, next } = csvRecord(lines, at, delimiter);
    const raw = lines.slice(at, next).join('\n');
    at = next;
    if (fields.length !== 2) {
      if (question) answer += `\n${raw}`;
      else fails.push(String(i + 1));
      continue;
    }
    if (question && answer) pairs.push({ question, answer, row: i });
    [question, answer] = fields as [string, string];
  }
  if (question) pairs.push({ question, answer, row: lines.length });
  return { pairs, fails };
}

/** RAGFlow's mdQuestionLevel: the number of leading '#' and the text after them. */
function mdQuestionLevel(line: string): [number, string] {
  const level = /^#*/.exec(line)![0].length;
  return [level, line.replace(/^#+/, '').trimStart()];
}

/** Markdown answer as HTML, as RAGFlow renders it with python-markdown (here: marked, GFM tables). */
function renderMarkdown(text: string): string {
  return marked.parse(text, { async: false, gfm: true });
}

/**
 * RAGFlow qa.py on Markdown: a heading of level 1..6 (outside ``` fences) is a question; the lines
 * until the next heading are its answer. Nested headings make one question, joined by "\n".
 */
function markdownPairs(lines: readonly string[]): RowPair[] {
  const pairs: RowPair[] = [];
  let answer = '';
  const questions: string[] = [];
  const levels: number[] = [];
  let code = false;
  let index = 0;
  for (index = 0; index < lines.length; index++) {
    const line = lines[index]!;
    if (line.trim().startsWith('```')) code = !code;
    const [level, question] = code ? [0, ''] : mdQuestionLevel(line);
    if (!level || level > 6) {
      answer = `${answer}\n${line}`;
      continue;
    }
    if (answer.trim()) {
      const sum = questions.join('\n');
      if (sum) pairs.push({ question: sum, answer: renderMarkdown(answer), row: index });
      answer = '';
    }
    while (questions.length > 0 && level <= levels[levels.length - 1]!) {
      questions.pop();
      levels.pop();
    }
    questions.push(question);
    levels.push(level);
  }
  if (answer.trim()) {
    const sum = questions.join('\n');
    if (sum) pairs.push({ question: sum, answer: renderMarkdown(answer), row: Math.max(0, index - 1) });
  }
  return pairs;
}

/** RAGFlow's tokenize_table on a DOCX table: the table HTML is the chunk, typed "table". */
function tableChunk(s: Section): MergedChunk {
  return { text: s.text, tokens: countTokens(s.text), pages: [], positions: [], fields: { ...UNPLACED, top_int: [], doc_type_kwd: 'table' } };
}

function kindOf(doc: ParsedDocument): QaKind {
  if (doc.format === 'docx') return 'docx';
  if (doc.format === 'markdown') return 'markdown';
  if (doc.format === 'text') return 'txt';
  return doc.sections.some((s) => s.cells) ? 'sheet' : 'csv';
}

/** English prefixes when the knowledge base language is English (RAGFlow: `lang.lower() == "english"`). */
function isEnglish(parserConfig: Record<string, unknown>): boolean {
  const lang = parserConfig['language'];
  return typeof lang === 'string' ? lang.trim().toLowerCase() === 'english' : true;
}

/** RAGFlow's beAdoc: the chunk of one pair. */
function pairChunk(pair: RowPair, english: boolean): MergedChunk {
  const qprefix = english ? 'Question: ' : '问题：';
  const aprefix = english ? 'Answer: ' : '回答：';
  const text = `${qprefix}${rmPrefix(pair.question)}\t${aprefix}${rmPrefix(pair.answer)}`;
  const content_ltks = tokenize(pair.question);
  return {
    text,
    tokens: countTokens(text),
    pages: [],
    positions: [],
    fields: { ...UNPLACED, content_ltks, content_sm_ltks: fineGrainedTokenize(content_ltks), top_int: [pair.row] },
  };
}

function qaChunks(doc: ParsedDocument, parserConfig: Record<string, unknown>): MergedChunk[] {
  const english = isEnglish(parserConfig);
  const kind = kindOf(doc);
  if (kind === 'sheet') {
    const { pairs, fails } = sheetPairs(doc.sections);
    if (fails.length > 0) doc.notes.push(extractMessage(`Extract pairs: ${pairs.length}. `, fails));
    return pairs.map((p) => pairChunk(p, english));
  }
  if (kind === 'docx') {
    // RAGFlow puts the tables first, then the question/answer pairs
    const tables = doc.sections.filter((s) => s.table).map(tableChunk);
    return [...tables, ...headingPairs(doc.sections.filter((s) => !s.table), (t) => t.trim()).map((p, row) => pairChunk({ ...p, row }, english))];
  }
  const lines = doc.sections.map((s) => s.text);
  if (kind === 'markdown') return markdownPairs(lines).map((p) => pairChunk(p, english));
  const { pairs, fails } = kind === 'csv' ? csvPairs(lines) : txtPairs(lines);
  if (fails.length > 0) doc.notes.push(extractMessage(`Extract Q&A: ${pairs.length}`, fails));
  return pairs.map((p) => pairChunk(p, english));
}

/**
 * The file as qa reads it: a workbook as one section per row (its cells as written), any text
 * (TXT, CSV/TSV, Markdown) as one section per "\n"-separated line, blank lines and "\r" kept.
 */
function qaFormat(named: FormatParser): FormatParser {
  return {
    id: named.id,
    extensions: named.extensions,
    paged: false,
    async parse(input: FormatInput): Promise<ParsedDocument> {
      if (named.id === 'docx') return parseQaDocx(input);
      return readRows(named, input);
    },
  };
}

export const qaMethod: ChunkMethodModule = {
  id: 'qa',
  readsFormat: (formatId) => formatId === 'table' || formatId === 'text' || formatId === 'markdown' || formatId === 'docx',
  formatFor: qaFormat,
  chunk: qaChunks,
};
