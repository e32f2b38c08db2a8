import { describe, expect, it } from 'vitest';
import { chunkDocument, isTableFile, mergeOptionsFromParserConfig, naiveMerge, parseDocument, planParser, type ParsedDocument } from '../src/index.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('planParser', () => {
  it('supports naive, general, table and one', () => {
    expect(planParser('naive', 'docx')).toEqual({ method: 'naive' });
    expect(planParser('general', 'pdf')).toEqual({ method: 'naive' });
    expect(planParser('table', 'table')).toEqual({ method: 'table' });
    expect(planParser('table', 'text')).toEqual({ method: 'table' });
    expect(planParser('one', 'html')).toEqual({ method: 'one' });
    expect(planParser('', 'text')).toEqual({ method: 'naive' });
  });

  it.each(['no_such_parser'])(
    "falls back to naive for '%s' on a document, with a note",
    (id) => {
      expect(planParser(id, 'docx')).toEqual({ method: 'naive', note: `parser '${id}' is not supported by Ragline; chunked with 'naive'` });
    },
  );

  it('chunks email on an .eml file with the email method, and falls back for it on other files', () => {
    expect(planParser('email', 'eml')).toEqual({ method: 'email' });
    expect(planParser('email', 'docx')).toEqual({ method: 'naive', note: "parser 'email' does not read docx files; chunked with 'naive'" });
  });

  it('chunks qa on a table file with the qa method, and falls back for table on a non-table file', () => {
    expect(planParser('qa', 'table')).toEqual({ method: 'qa' });
    expect(planParser('table', 'markdown')).toEqual({
      method: 'naive',
      note: "parser 'table' reads spreadsheets, CSV/TSV and text tables, not markdown files; chunked with 'naive'",
    });
  });
});

describe('isTableFile', () => {
  it('is true for the files the table parser splits into row ranges', () => {
    for (const name of ['a.xlsx', 'B.XLSM', 'c.xls', 'd.csv', 'e.tsv', 'f.txt']) expect(isTableFile(name)).toBe(true);
    for (const name of ['a.docx', 'b.pdf', 'c.md', 'd.html', 'e.json', 'f.exe', 'noext']) expect(isTableFile(name)).toBe(false);
  });
});

describe('chunkDocument', () => {
  const doc = (chunkMode?: ParsedDocument['chunkMode']): ParsedDocument => ({
    format: 'test',
    notes: [],
    chunkMode,
    sections: [
      { text: 'alpha beta', page: 0, position: [0, 1, 2, 3, 4] },
      { text: '   ' },
      { text: 'gamma', page: 2, position: [2, 1, 2, 3, 4] },
      { text: 'delta', page: 2, position: [2, 1, 2, 3, 4] },
    ],
  });

  it('is exactly naiveMerge with the parser_config options by default', () => {
    const config = { chunk_token_num: 2, delimiter: '\n' };
    const chunks = chunkDocument(doc(), config);
    expect(chunks).toEqual(naiveMerge(doc().sections, mergeOptionsFromParserConfig(config)));
    expect(chunks.map((c) => c.text)).toEqual(['\nalpha beta', '\n   \ngamma', '\ndelta']);
  });

  it('makes each non-blank section one chunk in per_section mode, whatever the token budget', () => {
    const chunks = chunkDocument(doc('per_section'), { chunk_token_num: 1 });
    expect(chunks.map((c) => c.text)).toEqual(['alpha beta', 'gamma', 'delta']);
    expect(chunks.map((c) => c.tokens)).toEqual([2, 1, 1]);
    expect(chunks.map((c) => c.positions)).toEqual([[[0, 1, 2, 3, 4]], [[2, 1, 2, 3, 4]], [[2, 1, 2, 3, 4]]]);
  });

  it('joins all sections into one chunk in whole mode, pages and positions deduplicated', () => {
    const chunks = chunkDocument(doc('whole'), { chunk_token_num: 1 });
    expect(chunks).toEqual([
      { text: 'alpha beta\ngamma\ndelta', tokens: expect.any(Number), pages: [0, 2], positions: [[0, 1, 2, 3, 4], [2, 1, 2, 3, 4]] },
    ]);
  });

  it("turns a whole text file into one chunk under parser 'one'", async () => {
    const text = Array.from({ length: 50 }, (_, i) => `Line ${i} of the document.`).join('\n');
    const parsed = await parseDocument({ name: 'long.txt', data: enc(text), parserId: 'one', parserConfig: { chunk_token_num: 16 } });
    expect(parsed.chunkMode).toBe('whole');
    expect(parsed.notes).toEqual([]);
    const chunks = chunkDocument(parsed, { chunk_token_num: 16 });
    expect(chunks).toHaveLength(1);
    expect(chunks[0]!.text).toBe(text);
  });
});
