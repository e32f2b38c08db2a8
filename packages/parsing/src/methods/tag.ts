import { countTokens } from '@ragline/tokenizer';
import { fineGrainedTokenize, tokenize } from '@ragline/rag-tokenizer';
import type { FormatInput, FormatParser } from '../formats/format.js';
import type { MergedChunk, ParsedDocument } from '../types.js';
import { UNPLACED, type ChunkMethodModule } from './method.js';
import { csvRecord, extractMessage, readRows, sheetPairs, txtDelimiter, type RowPair } from './rows.js';

/**
 * RAGFlow's `tag` method (rag/app/tag.py), the chunker of a tag knowledge base: every row is a
 * piece of content and its comma-separated tags. A chunk's content_with_weight is the content as
 * RAGFlow assembles it, content_ltks / content_sm_ltks are tokenized from it, tag_kwd holds the tags
 * (each stripped, "." written "_", empty ones dropped) and top_int the row as RAGFlow counts it.
 * Read: spreadsheets (qa's Excel rule: the first two non-empty cells of each row), CSV/TSV (Python
 * csv.reader records, tab-delimited when any line has a tab) and text files (two-field lines, tab or
 * comma). In text and CSV, lines that are not two fields are prepended to the next row's content
 * (each after a "\n", so such content starts with "\n" as in RAGFlow); lines after the last row are
 * dropped. Other formats fall back to `naive`.
 */

/** Python's str.strip() (whitespace as str.isspace() has it), not JavaScript's trim(). */
const PY_SPACE = '\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const PY_STRIP = new RegExp(`^[${PY_SPACE}]+|[${PY_SPACE}]+$`, 'g');
function pyStrip(s: string): string {
  return s.replace(PY_STRIP, '');
}

/** RAGFlow's tag_kwd: the tags split on ",", stripped, empty ones dropped, "." replaced by "_". */
export function tagKeywords(tags: string): string[] {
  return tags
    .split(',')
    .filter((t) => pyStrip(t) !== '')
    .map((t) => pyStrip(t).replaceAll('.', '_'));
}

/** tag.py on .txt: tab or comma (whichever splits more lines in two); other lines join the next row's content. */
function txtRows(lines: readonly string[]): RowPair[] {
  const delimiter = txtDelimiter(lines);
  const rows: RowPair[] = [];
  let content = '';
  lines.forEach((line, i) => {
    const arr = line.split(delimiter);
    if (arr.length !== 2) {
      content += `\n${line}`;
      return;
    }
    rows.push({ question: `${content}\n${arr[0]!}`, answer: arr[1]!, row: i });
    content = '';
  });
  return rows;
}

/**
 * tag.py on .csv: tab when any line has one, else comma; a record with exactly two non-blank fields
 * (stripped) is a row, the raw lines of any other record join the next row's content.
 */
function csvRows(lines: readonly string[]): RowPair[] {
  const delimiter = lines.some((l) => l.includes('\t')) ? '\t' : ',';
  const rows: RowPair[] = [];
  let content = '';
  let at = 0;
  for (let i = 0; at < lines.length; i++) {
    const { fields, next } = csvRecord(lines, at, delimiter);
    const raw = lines.slice(at, next).join('\n');
    at = next;
    const row = fields.filter((f) => pyStrip(f) !== '').map(pyStrip);
    if (row.length !== 2) {
      content += `\n${raw}`;
      continue;
    }
    rows.push({ question: `${content}\n${row[0]!}`, answer: row[1]!, row: i });
    content = '';
  }
  return rows;
}

/** tag.py's beAdoc: the chunk of one row. */
function tagChunk(r: RowPair): MergedChunk {
  const content_ltks = tokenize(r.question);
  return {
    text: r.question,
    tokens: countTokens(r.question),
    pages: [],
    positions: [],
    fields: {
      ...UNPLACED,
      content_ltks,
      content_sm_ltks: fineGrainedTokenize(content_ltks),
      tag_kwd: tagKeywords(r.answer),
      top_int: [r.row],
    },
  };
}

function tagChunks(doc: ParsedDocument): MergedChunk[] {
  if (doc.sections.some((s) => s.cells)) {
    const { pairs, fails } = sheetPairs(doc.sections);
    if (fails.length > 0) doc.notes.push(extractMessage(`Extract pairs: ${pairs.length}. `, fails));
    return pairs.map(tagChunk);
  }
  const lines = doc.sections.map((s) => s.text);
  return (doc.format === 'text' ? txtRows(lines) : csvRows(lines)).map(tagChunk);
}

/** The file as tag reads it: workbook rows with their cells, text and CSV as lines (shared with qa). */
function tagFormat(named: FormatParser): FormatParser {
  return {
    id: named.id,
    extensions: named.extensions,
    paged: false,
    parse: (input: FormatInput) => readRows(named, input),
  };
}

export const tagMethod: ChunkMethodModule = {
  id: 'tag',
  readsFormat: (formatId) => formatId === 'table' || formatId === 'text',
  formatFor: tagFormat,
  chunk: tagChunks,
};
