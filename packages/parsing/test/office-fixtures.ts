// Real DOCX/XLSX/XLS files for tests, generated with the libraries people write them with.
import { Document, HeadingLevel, Packer, Paragraph, Table, TableCell, TableRow, TextRun } from 'docx';
import * as XLSX from '@e965/xlsx';
import ExcelJS from 'exceljs';
import JSZip from 'jszip';

export type DocxBlock =
  | { heading: 1 | 2 | 3 | 'title'; text: string }
  | { paragraph: string | { text: string; bold?: boolean }[] }
  | { table: string[][] }
  | { bullet: string };

const HEADINGS = {
  title: HeadingLevel.TITLE,
  1: HeadingLevel.HEADING_1,
  2: HeadingLevel.HEADING_2,
  3: HeadingLevel.HEADING_3,
} as const;

export async function makeDocx(blocks: readonly DocxBlock[]): Promise<Uint8Array> {
  const children = blocks.map((b) => {
    if ('heading' in b) return new Paragraph({ text: b.text, heading: HEADINGS[b.heading] });
    if ('bullet' in b) return new Paragraph({ text: b.bullet, bullet: { level: 0 } });
    if ('table' in b) {
      return new Table({
        rows: b.table.map(
          (cells) => new TableRow({ children: cells.map((c) => new TableCell({ children: [new Paragraph(c)] })) }),
        ),
      });
    }
    const runs = typeof b.paragraph === 'string' ? [{ text: b.paragraph }] : b.paragraph;
    return new Paragraph({ children: runs.map((r) => new TextRun({ text: r.text, bold: r.bold ?? false })) });
  });
  const doc = new Document({ sections: [{ children }] });
  return new Uint8Array(await Packer.toBuffer(doc));
}

export type SheetCell = ExcelJS.CellValue;

/** An XLSX workbook with one worksheet per entry, written by exceljs. */
export async function makeXlsx(sheets: Record<string, readonly (readonly SheetCell[])[]>): Promise<Uint8Array> {
  const wb = new ExcelJS.Workbook();
  for (const [name, rows] of Object.entries(sheets)) {
    const ws = wb.addWorksheet(name);
    for (const row of rows) ws.addRow([...row]);
  }
  return new Uint8Array((await wb.xlsx.writeBuffer()) as ArrayBuffer);
}

/** A legacy BIFF8 .xls workbook, written by SheetJS. */
export function makeXls(sheets: Record<string, readonly (readonly (string | number)[])[]>): Uint8Array {
  const wb = XLSX.utils.book_new();
  for (const [name, rows] of Object.entries(sheets)) {
    XLSX.utils.book_append_sheet(wb, XLSX.utils.aoa_to_sheet(rows.map((r) => [...r])), name);
  }
  return new Uint8Array(XLSX.write(wb, { type: 'array', bookType: 'biff8' }) as ArrayBuffer);
}

/** `archive` with one more deflated entry of `bytes` zero bytes: what a zip bomb looks like. */
export async function addZeroEntry(archive: Uint8Array, entryName: string, bytes: number): Promise<Uint8Array> {
  const zip = await JSZip.loadAsync(archive);
  zip.file(entryName, new Uint8Array(bytes), { compression: 'DEFLATE', compressionOptions: { level: 9 } });
  return zip.generateAsync({ type: 'uint8array' });
}

/** `archive` with one more deflated entry of pseudo-random hex text (compresses about 2x). */
export async function addNoiseEntry(archive: Uint8Array, entryName: string, bytes: number): Promise<Uint8Array> {
  const zip = await JSZip.loadAsync(archive);
  let state = 42;
  const text = new Uint8Array(bytes);
  const hex = new TextEncoder().encode('0123456789abcdef');
  for (let i = 0; i < bytes; i++) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    text[i] = hex[state >>> 28]!;
  }
  zip.file(entryName, text, { compression: 'DEFLATE' });
  return zip.generateAsync({ type: 'uint8array' });
}

/** A zip holding only the given text files (valid archive, not an Office document). */
export async function makeZip(files: Record<string, string>): Promise<Uint8Array> {
  const zip = new JSZip();
  for (const [name, text] of Object.entries(files)) zip.file(name, text);
  return zip.generateAsync({ type: 'uint8array', compression: 'DEFLATE' });
}
