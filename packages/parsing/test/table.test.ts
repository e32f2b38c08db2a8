import iconv from 'iconv-lite';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  buildChunks,
  chunkDocument,
  initHashing,
  parseDocument,
  ParseError,
  TABLE_TASK_ROWS,
  tableRowCount,
  type ParsedDocument,
} from '../src/index.js';
import JSZip from 'jszip';
import { makeXls, makeXlsx } from './office-fixtures.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const texts = (doc: ParsedDocument): string[] => doc.sections.map((s) => s.text);

let workbook: Uint8Array;

beforeAll(async () => {
  await initHashing();
  workbook = await makeXlsx({
    People: [
      ['name', 'age', 'born', 'note'],
      ['Ann', 31, new Date(Date.UTC(1990, 4, 2)), 'likes\ncats'],
      [],
      ['Bob', { formula: '30+12', result: 42 }, null, { richText: [{ text: 'rich ' }, { text: 'text', font: { bold: true } }] }],
      ['Cid', 27, new Date(Date.UTC(2001, 0, 9, 14, 30, 0)), { text: 'site', hyperlink: 'https://example.com' }],
    ],
    Pets: [
      ['pet', '', 'owner'],
      ['cat', 'x', 'Ann'],
      ['dog', '', 'Bob'],
    ],
  });
});

describe('XLSX with the table parser', () => {
  it('makes one "header: value" chunk per data row, over all sheets, headers per sheet', async () => {
    const doc = await parseDocument({ name: 'people.xlsx', data: workbook, parserId: 'table' });
    expect(doc.format).toBe('table');
    expect(doc.chunkMode).toBe('per_section');
    expect(texts(doc)).toEqual([
      'name: Ann; age: 31; born: 1990-05-02; note: likes cats',
      'name: Bob; age: 42; note: rich text',
      'name: Cid; age: 27; born: 2001-01-09 14:30:00; note: site',
      'pet: cat; column 2: x; owner: Ann',
      'pet: dog; owner: Bob',
    ]);
    expect(doc.sections.map((s) => s.page)).toEqual([0, 1, 2, 3, 4]);

    const chunks = chunkDocument(doc, { chunk_token_num: 512 });
    expect(chunks.map((c) => c.text)).toEqual(texts(doc));
    const built = buildChunks({ doc_id: 'doc-x', kb_id: 'kb', doc_name: 'people.xlsx' }, chunks);
    expect(built).toHaveLength(5);
    // page_num_int is the 1-based data row number, so chunks of separate tasks sort in row order
    expect(built.map((c) => c.page_num_int)).toEqual([[1], [2], [3], [4], [5]]);
    expect(built[3]!.position_int).toEqual([[4, 3, 3, 3, 3]]);
  });

  it('reads the parts wherever the zip stores them, sheets in the workbook\'s tab order', async () => {
    const book = await JSZip.loadAsync(await makeXlsx({ First: [['k', 'v'], ['a', 1]], Second: [['k', 'v'], ['b', 2]] }));
    // swap the tabs in workbook.xml: Second (sheet2.xml) comes first
    const wbXml = await book.file('xl/workbook.xml')!.async('string');
    const [one, two] = wbXml.match(/<sheet [^>]*\/>/g)!;
    const swapped = wbXml.replace(one!, '\u0000').replace(two!, one!).replace('\u0000', two!);
    // worksheets first, shared strings and workbook.xml last: the order that broke exceljs's forward pass
    const names = Object.keys(book.files).filter((n) => !book.files[n]!.dir);
    const late = ['xl/sharedStrings.xml', 'xl/workbook.xml'];
    const order = [...names.filter((n) => n.startsWith('xl/worksheets/')), ...names.filter((n) => !n.startsWith('xl/worksheets/') && !late.includes(n)), ...late];
    const out = new JSZip();
    for (const n of order) out.file(n, n === 'xl/workbook.xml' ? swapped : await book.file(n)!.async('uint8array'));
    const data = await out.generateAsync({ type: 'uint8array', compression: 'DEFLATE' });

    const doc = await parseDocument({ name: 'order.xlsx', data, parserId: 'table' });
    expect(texts(doc)).toEqual(['k: b; v: 2', 'k: a; v: 1']);
  });

  it('reads the same workbook the same way every time, many reads at once', async () => {
    // exceljs's own forward pass over the zip lost entries now and then on a busy machine (exceljs#3064)
    const rows = [['n', 'word'], ...Array.from({ length: 40 }, (_, i) => [i, `word-${i}`])];
    const data = await makeXlsx({ Data: rows });
    const want = rows.slice(1).map(([n, w]) => `n: ${n}; word: ${w}`);
    const results = await Promise.all(
      Array.from({ length: 60 }, () => parseDocument({ name: 'many.xlsx', data, parserId: 'table' }).then(texts, (e: Error) => e.message)),
    );
    for (const r of results) expect(r).toEqual(want);
  });

  it('counts data rows the way tasks number them', async () => {
    expect(await tableRowCount('people.xlsx', workbook)).toBe(5);
  });

  it('covers only the row range of the task, across a sheet boundary', async () => {
    const doc = await parseDocument({ name: 'people.xlsx', data: workbook, parserId: 'table', fromPage: 2, toPage: 4 });
    expect(texts(doc)).toEqual(['name: Cid; age: 27; born: 2001-01-09 14:30:00; note: site', 'pet: cat; column 2: x; owner: Ann']);
    expect(doc.sections.map((s) => s.page)).toEqual([2, 3]);
  });

  it('covers every row exactly once when split into tasks of TABLE_TASK_ROWS rows', async () => {
    const rows: (string | number)[][] = [['id', 'city', 'score']];
    const total = 2 * TABLE_TASK_ROWS + 17;
    for (let i = 0; i < total; i++) rows.push([i, `city-${i % 97}`, (i * 7) % 100]);
    const data = await makeXlsx({ Data: rows });
    const count = await tableRowCount('big.xlsx', data);
    expect(count).toBe(total);

    const seen: number[] = [];
    for (let from = 0; from < count; from += TABLE_TASK_ROWS) {
      const to = Math.min(from + TABLE_TASK_ROWS, count);
      const doc = await parseDocument({ name: 'big.xlsx', data, parserId: 'table', fromPage: from, toPage: to });
      expect(doc.sections).toHaveLength(to - from);
      expect(doc.sections[0]!.text).toBe(`id: ${from}; city: city-${from % 97}; score: ${(from * 7) % 100}`);
      for (const s of doc.sections) seen.push(s.page!);
    }
    expect(seen).toEqual(Array.from({ length: total }, (_, i) => i));
  });

  it('merges rows by token budget under the naive parser', async () => {
    const doc = await parseDocument({ name: 'people.xlsx', data: workbook });
    expect(doc.chunkMode).toBe('merge');
    const chunks = chunkDocument(doc, { chunk_token_num: 512, delimiter: '\n' });
    expect(chunks).toHaveLength(1);
    expect(chunks[0]!.pages).toEqual([0, 1, 2, 3, 4]);
  });

  it("makes the whole range one chunk under parser 'one'", async () => {
    const doc = await parseDocument({ name: 'people.xlsx', data: workbook, parserId: 'one' });
    const chunks = chunkDocument(doc);
    expect(chunks).toHaveLength(1);
    expect(chunks[0]!.text.split('\n')).toHaveLength(5);
    expect(chunks[0]!.pages).toEqual([0, 1, 2, 3, 4]);
  });
});

describe('legacy XLS', () => {
  it('reads BIFF8 workbooks, sheet by sheet', async () => {
    const data = makeXls({
      Stock: [
        ['item', 'qty'],
        ['bolt', 120],
        ['nut', 80],
      ],
      价格: [
        ['品名', '单价'],
        ['螺栓', 0.5],
      ],
    });
    expect(await tableRowCount('stock.xls', data)).toBe(3);
    const doc = await parseDocument({ name: 'stock.xls', data, parserId: 'table' });
    expect(texts(doc)).toEqual(['item: bolt; qty: 120', 'item: nut; qty: 80', '品名: 螺栓; 单价: 0.5']);
    const tail = await parseDocument({ name: 'stock.xls', data, parserId: 'table', fromPage: 1, toPage: 3000 });
    expect(tail.sections.map((s) => s.page)).toEqual([1, 2]);
  });

  it('reads an ".xls" export that is really tab-separated text', async () => {
    const doc = await parseDocument({ name: 'export.xls', data: enc('a\tb\n1\t2\n'), parserId: 'table' });
    expect(texts(doc)).toEqual(['a: 1; b: 2']);
  });
});

describe('CSV and TSV', () => {
  it('parses quoted fields with commas, quotes and line breaks', async () => {
    const csv = 'title,body,year\r\n"Hello, world","He said ""hi""\nthen left",2020\r\n\r\nPlain,,1999\r\n';
    const doc = await parseDocument({ name: 'posts.csv', data: enc(csv), parserId: 'table' });
    expect(texts(doc)).toEqual(['title: Hello, world; body: He said "hi" then left; year: 2020', 'title: Plain; year: 1999']);
    expect(await tableRowCount('posts.csv', enc(csv))).toBe(2);
  });

  it('accepts rows longer or shorter than the header', async () => {
    const doc = await parseDocument({ name: 'ragged.csv', data: enc('a,b\n1\n2,3,4\n'), parserId: 'table' });
    expect(texts(doc)).toEqual(['a: 1', 'a: 2; b: 3; column 3: 4']);
  });

  it('splits .tsv on tabs and decodes GBK', async () => {
    const tsv = iconv.encode('城市\t人口\n北京\t2189万\n上海,浦东\t2487万\n', 'gbk');
    const doc = await parseDocument({ name: 'cities.tsv', data: tsv, parserId: 'table' });
    expect(texts(doc)).toEqual(['城市: 北京; 人口: 2189万', '城市: 上海,浦东; 人口: 2487万']);
  });

  it('decodes UTF-16 with a BOM', async () => {
    const data = iconv.encode('\uFEFFk,v\nα,β\n', 'utf-16le');
    const doc = await parseDocument({ name: 'greek.csv', data, parserId: 'table' });
    expect(texts(doc)).toEqual(['k: α; v: β']);
  });

  it("reads a .txt file as a tab-separated table under parser 'table'", async () => {
    const doc = await parseDocument({ name: 'list.txt', data: enc('sku\tname\nA1\tWidget\nB2\tGadget\n'), parserId: 'table' });
    expect(doc.format).toBe('table');
    expect(doc.chunkMode).toBe('per_section');
    expect(texts(doc)).toEqual(['sku: A1; name: Widget', 'sku: B2; name: Gadget']);
    expect(await tableRowCount('list.txt', enc('sku\tname\nA1\tWidget\n'))).toBe(1);
  });

  it('rejects a row range that starts past the last row, naming the row count', async () => {
    const err = await parseDocument({ name: 'posts.csv', data: enc('a\n1\n2\n'), parserId: 'table', fromPage: 3000, toPage: 6000 }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ParseError);
    expect((err as ParseError).code).toBe('page_range');
    expect((err as ParseError).message).toBe(
      'row range past the end: the task asks for rows 3000 to 6000 of posts.csv, but it has 2 data rows (0 to 1)',
    );
  });
});
