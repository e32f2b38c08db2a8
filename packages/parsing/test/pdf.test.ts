import { beforeAll, describe, expect, it } from 'vitest';
import {
  ParseError,
  buildChunks,
  bytesSource,
  initHashing,
  mergeOptionsFromParserConfig,
  naiveMerge,
  parseDocument,
  parsePdf,
  pdfPageCount,
  type ByteSource,
} from '../src/index.js';
import { makePdf } from './pdf-fixtures.js';

/** A ByteSource that counts what is read, to show a range task does not read the whole file. */
function countingSource(data: Uint8Array): ByteSource & { bytesRead: number; reads: number } {
  const inner = bytesSource(data);
  const src = {
    size: inner.size,
    bytesRead: 0,
    reads: 0,
    async read(offset: number, length: number) {
      const chunk = await inner.read(offset, length);
      src.bytesRead += chunk.byteLength;
      src.reads++;
      return chunk;
    },
  };
  return src;
}

async function parseError(p: Promise<unknown>): Promise<ParseError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ParseError);
  return err as ParseError;
}

describe('PDF text layer', () => {
  let fivePages: Buffer;
  let thirtyPages: Buffer;
  let bigPages: Buffer;
  beforeAll(async () => {
    await initHashing();
    fivePages = await makePdf({ pages: 5, paragraphs: 2 });
    thirtyPages = await makePdf({ pages: 30, paragraphs: 6 });
    bigPages = await makePdf({ pages: 30, paragraphs: 8, compress: false });
  });

  it('gives one section per text block with its page and box in points from the top-left corner', async () => {
    const doc = await parseDocument({ name: 'five.pdf', data: fivePages });
    expect(doc.format).toBe('pdf');
    expect(doc.notes).toEqual([]);
    // heading + two paragraphs on each of five pages
    expect(doc.sections).toHaveLength(15);
    expect(new Set(doc.sections.map((s) => s.page))).toEqual(new Set([0, 1, 2, 3, 4]));
    const heading = doc.sections.find((s) => s.text === 'Page 3 heading')!;
    expect(heading.page).toBe(2);
    const [page, x0, x1, top, bottom] = heading.position!;
    expect(page).toBe(2);
    expect(x0).toBeCloseTo(72, 0);
    expect(x1).toBeGreaterThan(150);
    expect(x1).toBeLessThan(200);
    // pdfkit puts the 14 pt line's top at y=72; the glyph box starts a little above the baseline
    expect(top).toBeGreaterThan(60);
    expect(top).toBeLessThan(80);
    expect(bottom - top).toBeCloseTo(14, 0);
    // a wrapped paragraph is one block, its lines joined into running text, below the heading
    const para = doc.sections.find((s) => s.text.startsWith('Paragraph 1 of page 3 '))!;
    expect(para.text).toContain('so that a search hit can point back at the right place in the original file.');
    expect(para.text).not.toContain('\n');
    expect(para.position![3]).toBeGreaterThan(bottom);
    expect(para.position![4] - para.position![3]).toBeGreaterThan(20); // more than one line tall
  });

  it('turns sections into chunks with RAGFlow page_num_int, position_int and top_int (1-based pages)', async () => {
    const doc = await parseDocument({ name: 'five.pdf', data: fivePages });
    const cfg = { chunk_token_num: 60, delimiter: '\n' };
    const chunks = buildChunks({ doc_id: 'd1', kb_id: 'k1', doc_name: 'five.pdf' }, naiveMerge(doc.sections, mergeOptionsFromParserConfig(cfg)));
    expect(chunks.length).toBeGreaterThanOrEqual(5);
    const all = chunks.flatMap((c) => c.page_num_int);
    expect(new Set(all)).toEqual(new Set([1, 2, 3, 4, 5]));
    for (const c of chunks) {
      expect(c.position_int).toHaveLength(c.page_num_int.length);
      expect(c.top_int).toHaveLength(c.page_num_int.length);
      for (const [i, pos] of c.position_int.entries()) {
        expect(pos).toHaveLength(5);
        expect(pos[0]).toBe(c.page_num_int[i]);
        expect(pos[3]).toBe(c.top_int[i]);
        expect(pos.every(Number.isInteger)).toBe(true);
      }
      // a chunk's text comes from the pages it claims
      const pagesInText = [...c.content_with_weight.matchAll(/page (\d+)/gi)].map((m) => Number(m[1]));
      for (const p of pagesInText) expect(c.page_num_int).toContain(p);
    }
  });

  it('parses only the task range (from_page inclusive, to_page exclusive) and reads only part of the file for it', async () => {
    const doc = await parsePdf(bytesSource(thirtyPages), { name: 'thirty.pdf', fromPage: 12, toPage: 24 });
    const pages = [...new Set(doc.sections.map((s) => s.page))];
    expect(pages).toEqual([12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23]);
    const headings = doc.sections.filter((s) => /^Page \d+ heading$/.test(s.text)).map((s) => s.text);
    expect(headings).toEqual(Array.from({ length: 12 }, (_, i) => `Page ${i + 13} heading`));
    expect(doc.sections.every((s) => s.position![0] === s.page)).toBe(true);

    // pdf.js reads the xref, every page dictionary (pdfkit writes a flat page tree, and pdf.js checks
    // the last page on open) and the content streams of the task's pages only: with uncompressed,
    // text-heavy pages the streams are most of the file and the others stay unread
    const src = countingSource(bigPages);
    const range = await parsePdf(src, { name: 'big.pdf', fromPage: 12, toPage: 14, rangeChunkSize: 1024 });
    expect([...new Set(range.sections.map((s) => s.page))]).toEqual([12, 13]);
    expect(src.bytesRead).toBeLessThan(bigPages.byteLength / 2);

    // a range that runs past the end stops at the last page, as RAGFlow's 100000000 bound does
    const tail = await parseDocument({ name: 'thirty.pdf', data: thirtyPages, fromPage: 24, toPage: 100_000_000 });
    expect([...new Set(tail.sections.map((s) => s.page))]).toEqual([24, 25, 26, 27, 28, 29]);
  });

  it('counts pages from bytes or from a range reader', async () => {
    expect(await pdfPageCount(thirtyPages)).toBe(30);
    const src = countingSource(bigPages);
    expect(await pdfPageCount(src, { rangeChunkSize: 1024 })).toBe(30);
    expect(src.bytesRead).toBeLessThan(bigPages.byteLength / 2);
  });

  it('reports a page without a text layer and keeps the others', async () => {
    const data = await makePdf({ pages: 3, blankPages: [1] });
    const doc = await parseDocument({ name: 'scan.pdf', data });
    expect(doc.notes).toEqual(['page 2 has no text (no text layer and no image)']);
    expect([...new Set(doc.sections.map((s) => s.page))]).toEqual([0, 2]);
    // nothing but scanned pages: no text at all is an empty document
    const allScanned = await makePdf({ pages: 2, blankPages: [0, 1] });
    expect((await parseError(parseDocument({ name: 'allscan.pdf', data: allScanned }))).code).toBe('empty');
  });

  it('rejects an encrypted PDF', async () => {
    const data = await makePdf({ pages: 2, userPassword: 'secret' });
    const err = await parseError(parseDocument({ name: 'locked.pdf', data }));
    expect(err.code).toBe('encrypted');
    expect(err.retryable).toBe(false);
    expect(err.message).toMatch(/locked\.pdf needs a password/);
    expect((await parseError(pdfPageCount(data))).code).toBe('encrypted');
  });

  it('rejects truncated, garbage and page-less files with specific codes', async () => {
    const truncated = fivePages.subarray(0, Math.floor(fivePages.byteLength * 0.6));
    const t = await parseError(parseDocument({ name: 'cut.pdf', data: truncated }));
    expect(t.code).toBe('corrupt');
    expect(t.message).toMatch(/corrupt PDF: cut\.pdf/);

    const garbage = Buffer.from('this is not a PDF, only text with a pdf extension\n'.repeat(40));
    expect((await parseError(parseDocument({ name: 'fake.pdf', data: garbage }))).code).toBe('corrupt');

    const noPages = await makePdf({ pages: 0 });
    const e = await parseError(parseDocument({ name: 'none.pdf', data: noPages }));
    expect(e.code).toBe('empty');
    expect(e.message).toMatch(/none\.pdf has no pages/);

    expect((await parseError(parseDocument({ name: 'zero.pdf', data: new Uint8Array(0) }))).code).toBe('empty');
  });

  it('rejects a range past the end with the page count in the message', async () => {
    const err = await parseError(parseDocument({ name: 'five.pdf', data: fivePages, fromPage: 12, toPage: 24 }));
    expect(err.code).toBe('page_range');
    expect(err.message).toContain('page 13');
    expect(err.message).toContain('has 5 pages');
  });

  it('passes a failure of the byte source through unchanged (a storage error keeps its retryability)', async () => {
    class FlakyStorage extends Error {
      readonly retryable = true;
    }
    const inner = bytesSource(thirtyPages);
    let calls = 0;
    const flaky: ByteSource = {
      size: inner.size,
      async read(offset, length) {
        if (++calls > 2) throw new FlakyStorage('storage went away');
        return inner.read(offset, length);
      },
    };
    const err = await parsePdf(flaky, { fromPage: 20, toPage: 30, rangeChunkSize: 1024 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FlakyStorage);
  });
});
