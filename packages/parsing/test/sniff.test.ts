// Content sniffing on real files: a license text without an extension, PDFs and Office files made
// from it, a PNG and an ELF binary from the system.
import { readFileSync } from 'node:fs';
import iconv from 'iconv-lite';
import PDFDocument from 'pdfkit';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_PDF_RANGE_CHUNK,
  SNIFF_BYTES,
  bytesSource,
  guessTextFormat,
  parseDocument,
  sniffFormat,
  type ByteSource,
} from '../src/index.js';
import { makeDocx, makeXls, makeXlsx, makeZip } from './office-fixtures.js';
import { parseError } from './parse-error.js';

const GPL3_PATH = '/usr/share/common-licenses/GPL-3';
const PNG_PATH = '/usr/share/gitweb/static/git-logo.png';
const ELF_PATH = '/bin/ls';

const gpl3 = readFileSync(GPL3_PATH);
const gplText = gpl3.toString('utf8');
const enc = (s: string) => new TextEncoder().encode(s);

/** A PDF holding the license text, uncompressed so that it spans well over one range chunk. */
function licensePdf(text: string): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const doc = new PDFDocument({ compress: false, size: 'A4', margin: 56 });
    const parts: Buffer[] = [];
    doc.on('data', (b: Buffer) => parts.push(b));
    doc.on('end', () => resolve(new Uint8Array(Buffer.concat(parts))));
    doc.on('error', reject);
    doc.font('Helvetica').fontSize(10).text(text);
    doc.end();
  });
}

/** A byte source that records every read. */
function recordingSource(data: Uint8Array): ByteSource & { reads: [number, number][] } {
  const inner = bytesSource(data);
  const reads: [number, number][] = [];
  return { size: inner.size, reads, read: (offset, length) => (reads.push([offset, length]), inner.read(offset, length)) };
}

const allText = (doc: { sections: { text: string }[] }) => doc.sections.map((s) => s.text).join('\n');

let pdf: Uint8Array;
let docx: Uint8Array;
let xlsx: Uint8Array;
let png: Uint8Array;
let elf: Uint8Array;

beforeAll(async () => {
  pdf = await licensePdf(gplText);
  const paragraphs = gplText.split(/\n\s*\n/).slice(0, 40);
  docx = await makeDocx([{ heading: 'title', text: 'GNU GENERAL PUBLIC LICENSE' }, ...paragraphs.map((p) => ({ paragraph: p.replace(/\s+/g, ' ').trim() }))]);
  xlsx = await makeXlsx({ Licenses: [['name', 'version'], ['GPL', 3], ['LGPL', 2.1]] });
  png = readFileSync(PNG_PATH);
  elf = readFileSync(ELF_PATH).subarray(0, 64 * 1024);
});

describe('a text file without an extension', () => {
  it('is text by its content and parses as text', async () => {
    const choice = await sniffFormat('GPL-3', gpl3);
    expect(choice).toMatchObject({ by: 'content', format: { id: 'text' }, content: { kind: 'text', encoding: 'utf-8' } });
    const doc = await parseDocument({ name: 'GPL-3', data: gpl3 });
    expect(doc.format).toBe('text');
    expect(allText(doc)).toContain('GNU GENERAL PUBLIC LICENSE');
    expect(allText(doc)).toContain('END OF TERMS AND CONDITIONS');
  });

  it('is judged from its first bytes when only those are given', async () => {
    const head = gpl3.subarray(0, SNIFF_BYTES);
    expect((await sniffFormat('GPL-3', head, { size: gpl3.byteLength })).format?.id).toBe('text');
    // read through a byte source: the whole file is read once the format is known not to be ranged
    const src = recordingSource(gpl3);
    const doc = await parseDocument({ name: 'GPL-3', source: src });
    expect(doc.format).toBe('text');
    expect(src.reads).toEqual([
      [0, SNIFF_BYTES],
      [0, gpl3.byteLength],
    ]);
  });

  it('is recognised in UTF-16 with a BOM and in GB18030', async () => {
    const utf16 = new Uint8Array([0xff, 0xfe, ...iconv.encode(gplText.slice(0, 3000), 'utf-16le')]);
    const u = await sniffFormat('LICENSE', utf16);
    expect(u).toMatchObject({ format: { id: 'text' }, content: { kind: 'text', encoding: 'utf-16le' } });
    expect(allText(await parseDocument({ name: 'LICENSE', data: utf16 }))).toContain('GNU GENERAL PUBLIC LICENSE');

    const chinese = '自由软件基金会发布的通用公共许可证第三版。\n本许可证保证用户拥有运行、研究、分享和修改软件的自由。\n'.repeat(20);
    const gb = iconv.encode(chinese, 'gb18030');
    const g = await sniffFormat('许可证', gb);
    expect(g).toMatchObject({ format: { id: 'text' }, content: { kind: 'text', encoding: 'gb18030' } });
    expect(allText(await parseDocument({ name: '许可证', data: gb }))).toContain('自由软件基金会');
  });

  it('is HTML, JSON, JSONL, Markdown or CSV when its content says so', async () => {
    const cases: [string, string][] = [
      ['<!DOCTYPE html>\n<html><head><title>GPL</title></head><body><h1>GNU GPL</h1><p>Version 3</p></body></html>', 'html'],
      ['<?xml version="1.0"?>\n<html xmlns="http://www.w3.org/1999/xhtml"><body><p>x</p></body></html>', 'html'],
      [JSON.stringify({ license: 'GPL-3.0', sections: ['Preamble', 'Terms'] }, null, 2), 'json'],
      ['{"id":1,"text":"Preamble"}\n{"id":2,"text":"Terms"}\n', 'jsonl'],
      ['# GNU GPL\n\nThe [full text](https://www.gnu.org/licenses/gpl-3.0.txt) is long.\n\n- freedom 0\n- freedom 1\n', 'markdown'],
      ['name,version,year\nGPL,3,2007\nLGPL,3,2007\nAGPL,3,2007\n', 'table'],
      ['name\tversion\nGPL\t3\nLGPL\t2.1\nMPL\t2.0\n', 'table'],
      ['[1] Introduction\nThe license, as written, is long.\nIt has, in fact, many parts.\n', 'text'],
      ['x', 'text'],
    ];
    for (const [text, id] of cases) {
      expect({ text, id: (await sniffFormat('README', enc(text))).format?.id }).toEqual({ text, id });
    }
    const doc = await parseDocument({ name: 'licenses', data: enc(cases[5]![0]) });
    expect(doc.format).toBe('table');
    expect(allText(doc)).toContain('GPL');
  });

  it('tells a JSON document from its first bytes alone', () => {
    const big = JSON.stringify({ license: 'GPL-3.0', text: gplText });
    expect(guessTextFormat(big.slice(0, SNIFF_BYTES), false).id).toBe('json');
    expect(guessTextFormat(gplText.slice(0, SNIFF_BYTES), false).id).toBe('text');
  });
});

describe('a known extension on text keeps its format', () => {
  it.each([
    ['GPL-3.txt', 'text'],
    ['GPL-3.md', 'markdown'],
    ['GPL-3.csv', 'table'],
    ['GPL-3.html', 'html'],
    ['GPL-3.log', 'text'],
  ])('%s', async (name, id) => {
    expect(await sniffFormat(name, gpl3)).toMatchObject({ by: 'extension', format: { id } });
  });

  it('a CSV-looking .txt stays text and a Markdown-looking .txt stays text', async () => {
    expect((await sniffFormat('list.txt', enc('a,b\n1,2\n3,4\n5,6\n'))).format?.id).toBe('text');
    expect((await sniffFormat('notes.txt', enc('# Title\n\n[a](b)\n'))).format?.id).toBe('text');
  });

  it('text under an extension no parser reads is still refused by its extension', async () => {
    const err = await parseError({ name: 'GPL-3.conf', data: gpl3 });
    expect(err.code).toBe('unsupported_format');
    expect(err.message).toMatch(/^unsupported file type: GPL-3\.conf has extension \.conf; supported: \.txt, /);
  });
});

describe('binary signatures beat the extension', () => {
  it('a PDF named .pdf, named .txt or without an extension parses as a PDF', async () => {
    for (const name of ['GPL-3.pdf', 'GPL-3.txt', 'GPL-3.md', 'GPL-3']) {
      const choice = await sniffFormat(name, pdf);
      expect({ name, id: choice.format?.id, by: choice.by }).toEqual({ name, id: 'pdf', by: name.endsWith('.pdf') ? 'extension' : 'content' });
    }
    const doc = await parseDocument({ name: 'GPL-3.txt', data: pdf });
    expect(doc.format).toBe('pdf');
    expect(allText(doc)).toContain('GNU GENERAL PUBLIC LICENSE');
    expect(new Set(doc.sections.map((s) => s.page)).size).toBeGreaterThan(2);
  });

  it('a misnamed PDF given as a byte source is read by ranges for its pages', async () => {
    // bigger than a range chunk, so a read of the whole file would show
    expect(pdf.byteLength).toBeGreaterThan(DEFAULT_PDF_RANGE_CHUNK);
    const src = recordingSource(pdf);
    const doc = await parseDocument({ name: 'GPL-3.txt', source: src, fromPage: 1, toPage: 2 });
    expect(doc.format).toBe('pdf');
    expect([...new Set(doc.sections.map((s) => s.page))]).toEqual([1]);
    expect(src.reads[0]).toEqual([0, SNIFF_BYTES]);
    expect(Math.max(...src.reads.map(([, length]) => length))).toBeLessThan(pdf.byteLength);
  });

  it('a DOCX named .pdf or without an extension parses as a DOCX', async () => {
    expect(await sniffFormat('GPL-3.pdf', docx)).toMatchObject({ by: 'content', format: { id: 'docx' }, content: { ext: 'docx' } });
    for (const input of [{ data: docx }, { source: bytesSource(docx) }]) {
      const doc = await parseDocument({ name: 'GPL-3', ...input });
      expect(doc.format).toBe('docx');
      expect(allText(doc)).toContain('GNU GENERAL PUBLIC LICENSE');
    }
    expect((await parseDocument({ name: 'GPL-3.pdf', data: docx })).format).toBe('docx');
  });

  it('an XLSX without an extension or named .docx is read as a table', async () => {
    expect(await sniffFormat('licenses', xlsx)).toMatchObject({ by: 'content', format: { id: 'table' }, content: { ext: 'xlsx' } });
    expect((await sniffFormat('licenses.docx', xlsx)).format?.id).toBe('table');
    const doc = await parseDocument({ name: 'licenses', data: xlsx, parserId: 'table' });
    expect(doc.sections.map((s) => s.text)).toEqual(['name: GPL; version: 3', 'name: LGPL; version: 2.1']);
  });

  it('Office names keep their format for zip and OLE2 containers their parsers examine', async () => {
    const zip = await makeZip({ 'readme.txt': gplText });
    expect(await sniffFormat('GPL-3.docx', zip)).toMatchObject({ by: 'extension', format: { id: 'docx' } });
    const xls = makeXls({ S: [['name', 'version'], ['GPL', 3]] });
    expect(await sniffFormat('old.xls', xls)).toMatchObject({ by: 'extension', format: { id: 'table' }, content: { ext: 'cfb' } });
    expect(await sniffFormat('secret.docx', xls)).toMatchObject({ by: 'extension', format: { id: 'docx' } });
  });

  it('a text file named .pdf stays a PDF by its extension, and the PDF parser says it is not one', async () => {
    expect(await sniffFormat('GPL-3.pdf', gpl3)).toMatchObject({ by: 'extension', format: { id: 'pdf' }, content: { kind: 'text' } });
    expect((await parseError({ name: 'GPL-3.pdf', data: gpl3 })).code).not.toBe('unsupported_format');
  });
});

describe('binary content no parser reads', () => {
  const SUPPORTED = /supported formats: text, markdown, pdf, docx, table, html, json, jsonl(?:, [a-z]+)* \(\.txt, .*\.pdf, \.docx, .*\.csv/;

  it.each(['git-logo.png', 'git-logo.txt', 'git-logo.md', 'git-logo'])('a PNG named %s is an image by its content, read by OCR', async (name) => {
    const choice = await sniffFormat(name, png);
    expect(choice.format?.id).toBe('image');
    expect(choice.by).toBe(name.endsWith('.png') ? 'extension' : 'content');
  });

  it('text starting with "BM" is text, not a BMP', async () => {
    const choice = await sniffFormat('notes', enc('BM notes: the bitmap header magic is two letters, and prose can start with them.\n'));
    expect(choice.format?.id).toBe('text');
  });

  it('an ELF binary and a zip that is not an Office document are refused naming their type', async () => {
    const e = await parseError({ name: 'ls', data: elf });
    expect(e.message).toContain('ls is ELF data (application/x-elf) by its content');
    expect(e.message).toMatch(SUPPORTED);
    const zip = await makeZip({ 'readme.txt': gplText, 'notes.txt': 'more' });
    for (const name of ['bundle', 'bundle.txt', 'bundle.pdf']) {
      const z = await parseError({ name, data: zip });
      expect(z.code).toBe('unsupported_format');
      expect(z.message).toContain(`${name} is a zip archive that is not a Word or Excel document (application/zip)`);
    }
  });

  it('bytes that are neither a known signature nor text are refused without an extension', async () => {
    const noise = new Uint8Array(2048).map((_, i) => (i * 7919 + 13) % 256);
    const choice = await sniffFormat('blob', noise);
    expect(choice).toMatchObject({ by: 'content', content: { kind: 'unknown' } });
    expect(choice.format).toBeUndefined();
    expect((await parseError({ name: 'blob', data: noise })).message).toMatch(/^unsupported file type: blob is binary data of no known type/);
    // under a text extension the decoder's own complaint stays
    expect((await parseError({ name: 'blob.txt', data: noise })).code).toBe('binary');
  });
});
