import { looksLikeOle2, looksLikeZip } from '../archive.js';
import { decodeText } from '../decode.js';
import { ParseError } from '../errors.js';
import type { FormatInput, FormatParser } from '../formats/format.js';
import { sheetRows } from '../formats/table.js';
import type { ParsedDocument, Section } from '../types.js';

/**
 * Readers shared by RAGFlow's row-pair methods, `qa` (rag/app/qa.py) and `tag` (rag/app/tag.py,
 * which reads spreadsheets with qa's Excel class): a workbook as one section per row, a text file
 * as one section per line, Python's csv.reader over those lines, and qa's Excel pair rule.
 */

/** Two cells of a row (qa: question and answer; tag: content and tags) and the row number RAGFlow gives it (top_int). */
export interface RowPair {
  question: string;
  answer: string;
  row: number;
}

/** RAGFlow's progress message when rows failed: "Extract Q&A: 3" then the failure count and the first failed lines (no separator, as RAGFlow writes it). */
/** RAGFlow's qa.py / tag.py on .txt: tab or comma, whichever splits more lines into exactly two (tab on a tie). */
export function txtDelimiter(lines: readonly string[]): '\t' | ',' {
  let comma = 0;
  let tab = 0;
  for (const line of lines) {
    if (line.split(',').length === 2) comma++;
    if (line.split('\t').length === 2) tab++;
  }
  return tab >= comma ? '\t' : ',';
}

export function extractMessage(head: string, fails: readonly string[]): string {
  return `${head}${fails.length} failure, line: ${fails.slice(0, 3).join(',')}...`;
}

/**
 * One record of Python's csv.reader (excel dialect, non-strict) over `lines` from line `start`:
 * the fields and the line after the record. A blank line is a record with no fields.
 */
export function csvRecord(lines: readonly string[], start: number, delimiter: string): { fields: string[]; next: number } {
  const fields: string[] = [];
  let field = '';
  let quoted = false; // inside a quoted part
  let started = false; // the current field has a character (a quote opens a field only at its start)
  let i = start;
  let line = (lines[i] ?? '').replace(/\r$/, '');
  if (line === '') return { fields, next: i + 1 };
  for (;;) {
    for (let c = 0; c < line.length; c++) {
      const ch = line[c]!;
      if (quoted) {
        if (ch === '"') {
          if (line[c + 1] === '"') {
            field += '"';
            c++;
          } else quoted = false;
        } else field += ch;
      } else if (ch === delimiter) {
        fields.push(field);
        field = '';
        started = false;
      } else if (ch === '"' && !started) {
        quoted = true;
        started = true;
      } else {
        field += ch;
        started = true;
      }
    }
    i++;
    if (!quoted || i >= lines.length) break;
    field += '\n';
    line = (lines[i] ?? '').replace(/\r$/, '');
  }
  fields.push(field);
  return { fields, next: i };
}

/** RAGFlow qa.py's Excel reader: the first two non-empty cells of a row are Q and A. */
export function sheetPairs(sections: readonly Section[]): { pairs: RowPair[]; fails: string[] } {
  const pairs: RowPair[] = [];
  const fails: string[] = [];
  for (const s of sections) {
    const [q = '', a = ''] = (s.cells ?? []).filter((c) => c !== '');
    if (q && a) pairs.push({ question: q, answer: a, row: pairs.length });
    else fails.push(String((s.row ?? 0) + 1));
  }
  return { pairs, fails };
}

/**
 * The file as the row-pair methods read it: a workbook as one section per row (its cells as
 * written), any text (TXT, CSV/TSV, Markdown) as one section per "\n"-separated line, blank lines
 * and "\r" kept.
 */
export async function readRows(named: FormatParser, input: FormatInput): Promise<ParsedDocument> {
  const { name, data } = input;
  if (named.id === 'table' && (looksLikeZip(data) || looksLikeOle2(data))) {
    const sections: Section[] = [];
    let sheet: string | undefined;
    let row = 0;
    for await (const r of sheetRows(name, data, input.archiveLimits, (t) => t)) {
      if (r.sheet !== sheet) {
        sheet = r.sheet;
        row = 0;
      }
      // a row the reader leaves out is blank; openpyxl lists it, and RAGFlow counts it as a failure
      while (r.number !== undefined && row < r.number - 1) sections.push({ text: '', cells: [], row: row++ });
      sections.push({ text: r.cells.join('\t'), cells: r.cells, row: row++ });
    }
    if (sections.length === 0) throw new ParseError('empty', `empty file: ${name} has no rows`);
    return { sections, format: named.id, notes: [] };
  }
  const { text, encoding, replaced } = decodeText(data, name);
  const notes = replaced > 0 ? [`${replaced} undecodable byte sequence(s) replaced while decoding ${encoding}`] : [];
  const sections = text.split('\n').map((line, row) => ({ text: line, row }));
  return { sections, format: named.id, encoding, notes };
}
