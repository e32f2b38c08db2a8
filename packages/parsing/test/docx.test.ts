import { beforeAll, describe, expect, it } from 'vitest';
import { buildChunks, chunkDocument, initHashing, parseDocument } from '../src/index.js';
import { makeDocx } from './office-fixtures.js';

let report: Uint8Array;

beforeAll(async () => {
  await initHashing();
  report = await makeDocx([
    { heading: 'title', text: 'Quarterly Report' },
    { paragraph: 'Prepared by the finance team.' },
    { heading: 1, text: 'Revenue' },
    { paragraph: [{ text: 'Revenue grew ' }, { text: '12 percent', bold: true }, { text: ' this quarter.' }] },
    {
      table: [
        ['Region', 'Q1', 'Q2'],
        ['North', '10', '12'],
        ['South', '7', ''],
      ],
    },
    { paragraph: 'The table above lists revenue per region.' },
    { heading: 2, text: 'Outlook' },
    { bullet: 'Hire two engineers' },
    { bullet: 'Open the Lyon office' },
    { heading: 1, text: 'Costs' },
    { paragraph: 'Costs stayed flat.' },
  ]);
});

describe('DOCX', () => {
  it('keeps paragraphs, headings, lists and tables in document order, a section per heading', async () => {
    const doc = await parseDocument({ name: 'report.docx', data: report });
    expect(doc.format).toBe('docx');
    expect(doc.notes).toEqual([]);
    expect(doc.sections.map((s) => s.text)).toEqual([
      'Quarterly Report\nPrepared by the finance team.',
      'Revenue\nRevenue grew 12 percent this quarter.\nRegion | Q1 | Q2\nNorth | 10 | 12\nSouth | 7 | \nThe table above lists revenue per region.',
      'Outlook\n- Hire two engineers\n- Open the Lyon office',
      'Costs\nCosts stayed flat.',
    ]);
  });

  it('chunks with the naive merge by default and honours chunk_token_num', async () => {
    const doc = await parseDocument({ name: 'report.docx', data: report });
    expect(doc.chunkMode).toBe('merge');
    const big = chunkDocument(doc, { chunk_token_num: 512, delimiter: '\n' });
    expect(big).toHaveLength(1);
    expect(big[0]!.text).toContain('North | 10 | 12');

    const small = chunkDocument(doc, { chunk_token_num: 8, delimiter: '\n' });
    expect(small.length).toBeGreaterThan(3);
    // every line survives chunking, in order
    const joined = small.map((c) => c.text).join('');
    expect(joined.indexOf('Quarterly Report')).toBeLessThan(joined.indexOf('Region | Q1 | Q2'));
    expect(joined.indexOf('Region | Q1 | Q2')).toBeLessThan(joined.indexOf('Costs stayed flat.'));
  });

  it("makes the whole document one chunk with parser 'one'", async () => {
    const doc = await parseDocument({ name: 'report.docx', data: report, parserId: 'one' });
    expect(doc.chunkMode).toBe('whole');
    const chunks = chunkDocument(doc, { chunk_token_num: 8 });
    expect(chunks).toHaveLength(1);
    expect(chunks[0]!.text).toBe(doc.sections.map((s) => s.text).join('\n'));

    const built = buildChunks({ doc_id: 'd1', kb_id: 'kb', doc_name: 'report.docx' }, chunks);
    expect(built).toHaveLength(1);
    expect(built[0]!.docnm_kwd).toBe('report.docx');
    expect(built[0]!.content_ltks.split(' ')).toContain('quarter');
    expect(built[0]!.page_num_int).toEqual([1]);
  });

  it('falls back to naive with a note for layout parsers', async () => {
    const doc = await parseDocument({ name: 'report.docx', data: report, parserId: 'paper' });
    expect(doc.chunkMode).toBe('merge');
    expect(doc.notes).toEqual(["parser 'paper' does not read docx files; chunked with 'naive'"]);
    const table = await parseDocument({ name: 'report.docx', data: report, parserId: 'table' });
    expect(table.chunkMode).toBe('merge');
    expect(table.notes.join(' ')).toMatch(/parser 'table' reads spreadsheets.*not docx files; chunked with 'naive'/);
  });

  it('reads CJK text', async () => {
    const data = await makeDocx([{ heading: 1, text: '概述' }, { paragraph: '本季度收入增长了百分之十二。' }]);
    const doc = await parseDocument({ name: '报告.docx', data });
    expect(doc.sections.map((s) => s.text)).toEqual(['概述\n本季度收入增长了百分之十二。']);
  });
});
