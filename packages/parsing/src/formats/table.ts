import { Readable } from 'node:stream';
import type * as SheetJS from '@e965/xlsx';
import type ExcelJS from 'exceljs';
import { inspectArchive, looksLikeOle2, looksLikeZip, oleInsteadOfZip, openArchive, type ArchiveLimits } from '../archive.js';
import { decodeText } from '../decode.js';
import { ParseError } from '../errors.js';
import type { ParsedDocument, Section } from '../types.js';
import type { FormatInput, FormatParser } from './format.js';

// The spreadsheet libraries take seconds to load on a busy machine, so they are loaded on first
// use: a process (or parse worker) that never sees a spreadsheet never pays for them.
let sheetJs: Promise<typeof SheetJS> | undefined;
function loadSheetJs(): Promise<typeof SheetJS> {
  sheetJs ??= Promise.all([import('@e965/xlsx'), import('@e965/xlsx/dist/cpexcel')]).then(([xlsx, cpexcel]) => {
    // Legacy XLS files carry their text in Windows code pages (GBK, Shift_JIS, ...).
    xlsx.set_cptable(cpexcel);
    return xlsx;
  });
  return sheetJs;
}

/** RAGFlow's table tasks cover this many rows each (`queue_tasks`). */
export const TABLE_TASK_ROWS = 3000;

/** A spreadsheet row as text cells, with the sheet it belongs to. */
export interface SheetRow {
  sheet: string;
  cells: string[];
  /** 1-based row number in its sheet, when the reader knows it (blank rows may be left out) */
  number?: number;
}

/** A data row (not a header row) with its 0-based number across all sheets. */
export interface TableRow {
  /** 0-based data-row number counted over every sheet in order; task ranges use these numbers */
  index: number;
  sheet: string;
  headers: string[];
  cells: string[];
}

type TableKind = 'xlsx' | 'xls' | 'delimited';

function extension(name: string): string {
  const dot = name.lastIndexOf('.');
  return dot >= 0 ? name.slice(dot).toLowerCase() : '';
}

/**
 * Which reader the bytes need. Spreadsheet extensions lie often (an ".xls" export that is really
 * HTML, TSV or an XLSX zip), so the leading bytes decide between zip, OLE2 and text.
 */
function tableKind(data: Uint8Array): TableKind {
  if (looksLikeZip(data)) return 'xlsx';
  if (looksLikeOle2(data)) return 'xls';
  return 'delimited';
}

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}

/** Excel dates are wall-clock values that exceljs hands over as UTC instants. */
function dateText(d: Date): string {
  if (Number.isNaN(d.getTime())) return '';
  const day = `${d.getUTCFullYear()}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())}`;
  const h = d.getUTCHours();
  const m = d.getUTCMinutes();
  const s = d.getUTCSeconds();
  return h === 0 && m === 0 && s === 0 ? day : `${day} ${pad2(h)}:${pad2(m)}:${pad2(s)}`;
}

/** Text of an exceljs cell value: rich text joined, formulas as their cached result, errors as "#N/A". */
function cellText(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (value instanceof Date) return dateText(value);
  if (typeof value === 'object') {
    const v = value as Record<string, unknown>;
    if (Array.isArray(v['richText'])) return (v['richText'] as { text?: unknown }[]).map((r) => cellText(r.text)).join('');
    if ('result' in v) return cellText(v['result']);
    if ('formula' in v || 'sharedFormula' in v) return '';
    if ('text' in v) return cellText(v['text']);
    if (typeof v['error'] === 'string') return v['error'];
  }
  return '';
}

/** A cell on one line: runs of whitespace (line breaks inside a cell included) become one space. */
function tidy(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/** The steps of exceljs's streaming WorkbookReader that `parse()` runs per zip entry (exceljs 4.4.0). */
interface WorkbookPartReader {
  _parseRels(stream: Readable): Promise<void>;
  _parseWorkbook(stream: Readable): Promise<void>;
  _parseSharedStrings(stream: Readable): AsyncGenerator<unknown>;
  _parseStyles(stream: Readable): Promise<void>;
  _parseWorksheet(stream: Readable, sheetNo: string): Generator<{ eventType: string; value: ExcelJS.stream.xlsx.WorksheetReader }>;
  model?: { sheets?: { rId?: string }[] };
  workbookRels?: { Id?: string; Target?: string }[];
}

const WORKSHEET_PART = /^xl\/worksheets\/sheet(\d+)\.xml$/;

/** Worksheet numbers in the workbook's tab order, then any sheet part the workbook does not list. */
function sheetOrder(reader: WorkbookPartReader, names: readonly string[]): string[] {
  const parts = names.map((n) => WORKSHEET_PART.exec(n)?.[1]).filter((n): n is string => n !== undefined);
  const byRel = new Map((reader.workbookRels ?? []).map((r) => [r.Id, /^(?:\/xl\/)?worksheets\/sheet(\d+)\.xml$/.exec(r.Target ?? '')?.[1]]));
  const listed = (reader.model?.sheets ?? []).map((s) => byRel.get(s.rId)).filter((n): n is string => !!n && parts.includes(n));
  const rest = parts.filter((n) => !listed.includes(n)).sort((a, b) => Number(a) - Number(b));
  return [...new Set([...listed, ...rest])];
}

/**
 * Rows of an XLSX workbook, sheet by sheet, streamed by exceljs's reader with styles cached (so
 * number cells with a date format come out as dates). The parts are read through the zip's central
 * directory in the order the reader needs them (relationships, workbook, shared strings, styles,
 * then each worksheet) instead of by exceljs's single forward pass over the archive: that pass
 * loses the entries after a worksheet it parks in a temp file when the event loop is busy
 * (exceljs#3064), so valid workbooks written with workbook.xml last (exceljs, several other
 * writers) failed as corrupt now and then.
 */
async function* xlsxRows(data: Uint8Array, fix: (text: string) => string = tidy): AsyncGenerator<SheetRow> {
  const { default: ExcelJSLib } = await import('exceljs');
  const zip = await openArchive(data);
  try {
    const reader = new ExcelJSLib.stream.xlsx.WorkbookReader(Readable.from([]), {
      worksheets: 'emit',
      sharedStrings: 'cache',
      styles: 'cache',
      hyperlinks: 'ignore',
      entries: 'ignore',
    }) as unknown as WorkbookPartReader;
    if (zip.has('xl/_rels/workbook.xml.rels')) await reader._parseRels(await zip.open('xl/_rels/workbook.xml.rels'));
    await reader._parseWorkbook(await zip.open('xl/workbook.xml'));
    if (zip.has('xl/sharedStrings.xml')) {
      // with sharedStrings 'cache' this fills the reader's table and yields nothing
      for await (const _ of reader._parseSharedStrings(await zip.open('xl/sharedStrings.xml')));
    }
    if (zip.has('xl/styles.xml')) await reader._parseStyles(await zip.open('xl/styles.xml'));
    for (const sheetNo of sheetOrder(reader, zip.names())) {
      for (const { value: worksheet } of reader._parseWorksheet(await zip.open(`xl/worksheets/sheet${sheetNo}.xml`), sheetNo)) {
        const sheet = String((worksheet as unknown as { name?: unknown }).name ?? '');
        for await (const row of worksheet) {
          const values = Array.isArray(row.values) ? row.values : [];
          // exceljs row values are 1-based (index 0 is always empty)
          const cells: string[] = [];
          for (let i = 1; i < values.length; i++) cells.push(fix(cellText(values[i])));
          yield { sheet, cells, number: row.number };
        }
      }
    }
  } finally {
    zip.close();
  }
}

function* sheetJsRows(XLSX: typeof SheetJS, workbook: SheetJS.WorkBook, fix: (text: string) => string = tidy): Generator<SheetRow> {
  for (const sheet of workbook.SheetNames) {
    const ws = workbook.Sheets[sheet];
    if (!ws) continue;
    // raw: false gives each cell's displayed text (dates and numbers as formatted in the file)
    const rows = XLSX.utils.sheet_to_json<unknown[]>(ws, { header: 1, raw: false, blankrows: false, defval: '' });
    for (const row of rows) {
      // SheetJS marks each row array with its 0-based row in the sheet
      const at = (row as { __rowNum__?: unknown }).__rowNum__;
      const cells = row.map((c) => fix(c === null || c === undefined ? '' : String(c)));
      yield { sheet, cells, ...(typeof at === 'number' ? { number: at + 1 } : {}) };
    }
  }
}

async function readXls(data: Uint8Array, name: string): Promise<SheetJS.WorkBook> {
  const XLSX = await loadSheetJs();
  try {
    return XLSX.read(data, { type: 'array', cellDates: true, dense: true, cellHTML: false, cellFormula: false });
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new ParseError('corrupt', `corrupt file: ${name} could not be read as an Excel workbook (${reason})`, { cause });
  }
}

/**
 * Delimiter of a text table: tab for .tsv and .tab, comma for .csv; other text (a .txt under the
 * table parser, an ".xls" that is really text) uses tab when its first line has one, as RAGFlow's
 * table parser does for .txt.
 */
function delimiterFor(name: string, text: string): string {
  const ext = extension(name);
  if (ext === '.tsv' || ext === '.tab') return '\t';
  if (ext === '.csv') return ',';
  const firstLine = text.slice(0, text.indexOf('\n') >= 0 ? text.indexOf('\n') : text.length);
  return firstLine.includes('\t') ? '\t' : ',';
}

async function* delimitedRows(data: Uint8Array, name: string): AsyncGenerator<SheetRow> {
  const { text } = decodeText(data, name);
  const { parse: parseCsv } = await import('csv-parse/sync');
  let records: string[][];
  try {
    records = parseCsv(text, {
      delimiter: delimiterFor(name, text),
      relax_column_count: true,
      relax_quotes: true,
      skip_empty_lines: true,
    });
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new ParseError('corrupt', `corrupt file: ${name} is not a readable delimited table (${reason})`, { cause });
  }
  for (const cells of records) yield { sheet: '', cells: cells.map(tidy) };
}

/**
 * Every row of a spreadsheet or delimited text file as the reader gives it (header and blank rows
 * included); `fix` is applied to each cell's text (default: whitespace runs become one space).
 */
export async function* sheetRows(
  name: string,
  data: Uint8Array,
  limits: ArchiveLimits | undefined,
  fix: (text: string) => string = tidy,
): AsyncGenerator<SheetRow> {
  const kind = tableKind(data);
  const ext = extension(name);
  if (kind === 'xls' && (ext === '.xlsx' || ext === '.xlsm')) {
    throw new ParseError('corrupt', oleInsteadOfZip(name));
  }
  if (kind !== 'xlsx' && (ext === '.xlsx' || ext === '.xlsm')) {
    throw new ParseError(
      'corrupt',
      `corrupt file: ${name} is not an Excel workbook (an ${ext} file is a zip archive, and this one does not start like one)`,
    );
  }
  if (kind === 'xlsx') {
    const archive = await inspectArchive(data, name, limits);
    if (!archive.entries.some((e) => e.name === 'xl/workbook.xml')) {
      throw new ParseError('corrupt', `corrupt file: ${name} is a zip archive but not an Excel workbook (it has no xl/workbook.xml)`);
    }
    try {
      yield* xlsxRows(data, fix);
    } catch (cause) {
      if (cause instanceof ParseError) throw cause;
      const reason = cause instanceof Error ? cause.message : String(cause);
      throw new ParseError('corrupt', `corrupt file: ${name} could not be read as an Excel workbook (${reason})`, { cause });
    }
  } else if (kind === 'xls') {
    const workbook = await readXls(data, name);
    yield* sheetJsRows(await loadSheetJs(), workbook, fix);
  } else {
    yield* delimitedRows(data, name);
  }
}

/** Column names of a header row; an empty header cell is named after its position ("column 3"). */
function headerNames(cells: readonly string[]): string[] {
  return cells.map((c, i) => c || `column ${i + 1}`);
}

/**
 * Every data row of a spreadsheet or delimited text file, in order. Each sheet's first non-empty
 * row is its header row; rows with no text in any cell are skipped and not counted. Reading stops
 * as soon as the caller stops iterating.
 */
export async function* tableRows(name: string, data: Uint8Array, limits?: ArchiveLimits): AsyncGenerator<TableRow> {
  let index = 0;
  let sheet: string | undefined;
  let headers: string[] | undefined;
  for await (const row of sheetRows(name, data, limits)) {
    if (row.sheet !== sheet) {
      sheet = row.sheet;
      headers = undefined;
    }
    if (!row.cells.some((c) => c.length > 0)) continue;
    if (!headers) {
      headers = headerNames(row.cells);
      continue;
    }
    yield { index: index++, sheet: row.sheet, headers, cells: row.cells };
  }
}

/**
 * Number of data rows (header rows and blank rows excluded) in a table file, counted the way the
 * table parser numbers rows; the producer splits `parser_id == "table"` documents into tasks of
 * `TABLE_TASK_ROWS` rows from it. Throws ParseError for files that are not readable tables.
 */
export async function tableRowCount(name: string, data: Uint8Array, limits?: ArchiveLimits): Promise<number> {
  if (data.byteLength === 0) return 0;
  let count = 0;
  for await (const _row of tableRows(name, data, limits)) count++;
  return count;
}

/** RAGFlow's table row text: "header: value" for each non-empty cell, joined by "; ". */
export function rowText(headers: readonly string[], cells: readonly string[]): string {
  const pairs: string[] = [];
  cells.forEach((value, i) => {
    if (value) pairs.push(`${headers[i] ?? `column ${i + 1}`}: ${value}`);
  });
  return pairs.join('; ');
}

/**
 * Rows `fromPage`..`toPage` (0-based data-row numbers, end exclusive) as one section each. The
 * section's page and position carry the row number, so chunk `page_num_int` is the 1-based row
 * and chunks of different tasks sort in row order.
 */
export async function tableSections(input: FormatInput): Promise<ParsedDocument> {
  const { name, data, fromPage, toPage } = input;
  const sections: Section[] = [];
  let total = 0;
  for await (const row of tableRows(name, data, input.archiveLimits)) {
    total = row.index + 1;
    if (row.index < fromPage) continue;
    if (row.index >= toPage) break;
    sections.push({ text: rowText(row.headers, row.cells), page: row.index, position: [row.index, row.index, row.index, row.index, row.index] });
  }
  if (total === 0) {
    throw new ParseError('empty', `empty table: ${name} has no data rows (the first non-empty row of each sheet is its header)`);
  }
  if (fromPage >= total) {
    throw new ParseError(
      'page_range',
      `row range past the end: the task asks for rows ${fromPage} to ${toPage} of ${name}, but it has ${total} data rows (0 to ${total - 1})`,
    );
  }
  return { sections, format: 'table', notes: [] };
}

export const tableFormat: FormatParser = {
  id: 'table',
  extensions: ['.xlsx', '.xlsm', '.xls', '.csv', '.tsv'],
  paged: true,
  parse: tableSections,
};
