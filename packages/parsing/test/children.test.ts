import { readFileSync } from 'node:fs';
import { describe, expect, it, beforeAll } from 'vitest';
import { Chunk } from '@ragline/contracts';
import { childDelimiterPattern, momText, parentRecords, splitChildren } from '../src/children.js';
import { initHashing, xxh64Hex } from '../src/hash.js';
import { buildChunks, countTokens, fineGrainedTokenize, tokenize } from '../src/index.js';

interface Case {
  children_delimiter: string;
  text: string;
  pattern: string;
  valid: boolean;
  mom_with_weight: string | null;
  children: string[] | null;
}
const golden = JSON.parse(readFileSync(new URL('../golden/children/children.json', import.meta.url), 'utf8')) as { cases: Case[] };

beforeAll(async () => {
  await initHashing();
});

describe('children_delimiter (golden from RAGFlow naive.py + split_with_pattern)', () => {
  for (const c of golden.cases) {
    it(`${JSON.stringify(c.children_delimiter)} on ${JSON.stringify(c.text)}`, () => {
      const pattern = childDelimiterPattern(c.children_delimiter);
      expect(pattern).toBe(c.pattern);
      if (!pattern) {
        expect(c.children).toBeNull();
        return;
      }
      expect(momText(c.text)).toBe(c.mom_with_weight);
      expect(splitChildren(c.text, pattern)).toEqual(c.children);
    });
  }
});

describe('parentRecords', () => {
  it('makes one parent per distinct mom text with RAGFlow fields and sets mom_id', () => {
    const base = { doc_id: 'd1', kb_id: 'k1', docnm_kwd: 'a.txt', content_ltks: 'x', position_int: [[1, 1, 1, 1, 1]], page_num_int: [1], top_int: [1], create_timestamp_flt: 5, q_4_vec: [0] };
    const children = [
      { ...base, id: 'c1', content_with_weight: 'a\n', mom_with_weight: 'a\nb' },
      { ...base, id: 'c2', content_with_weight: 'b', mom_with_weight: 'a\nb', page_num_int: [9] },
      { ...base, id: 'c3', content_with_weight: 'plain' },
    ];
    const parents = parentRecords(children);
    const id = xxh64Hex('a\nb');
    expect(parents).toEqual([
      { id, content_with_weight: 'a\nb', doc_id: 'd1', docnm_kwd: 'a.txt', kb_id: 'k1', available_int: 0, position_int: [[1, 1, 1, 1, 1]], create_timestamp_flt: 5, page_num_int: [1], top_int: [1] },
    ]);
    expect(children.map((c) => (c as Record<string, unknown>)['mom_id'])).toEqual([id, id, undefined]);
  });
});

describe('buildChunks with children_delimiter', () => {
  const now = new Date(2024, 0, 2, 3, 4, 5);
  const base = { doc_id: 'doc-1', kb_id: 'kb-1', doc_name: 'a.txt', parser_config: { children_delimiter: '\\n' } };
  const merged = [
    { text: '\nfirst line\nsecond line', tokens: 5, pages: [], positions: [] },
    { text: '\n| a | b |', tokens: 4, pages: [], positions: [], fields: { doc_type_kwd: 'table' } },
    { text: '\nlone', tokens: 2, pages: [], positions: [] },
  ];

  it('cuts naive text chunks into children that carry mom_with_weight, mom_id and the chunk position', () => {
    const chunks = buildChunks({ ...base, parser_id: 'naive' }, merged, now);
    expect(chunks.map((c) => c.content_with_weight)).toEqual(['first line\n', 'second line', '\n| a | b |', 'lone']);
    const [c0, c1, table, lone] = chunks as Record<string, unknown>[];
    const mom = 'first line\nsecond line';
    expect(c0).toMatchObject({
      id: xxh64Hex('first line\n' + 'doc-1'),
      mom_with_weight: mom,
      mom_id: xxh64Hex(mom),
      content_ltks: tokenize('first line\n'),
      content_sm_ltks: fineGrainedTokenize(tokenize('first line\n')),
      token_count: countTokens('first line\n'),
      page_num_int: [1],
      position_int: [[1, 0, 0, 0, 0]],
    });
    expect(c1).toMatchObject({ mom_id: xxh64Hex(mom), page_num_int: [1], token_count: countTokens('second line') });
    expect(table!['mom_id']).toBeUndefined();
    expect(lone).toMatchObject({ mom_with_weight: 'lone', mom_id: xxh64Hex('lone'), position_int: [[3, 2, 2, 2, 2]] });
    for (const c of chunks) expect(Chunk.safeParse(c).success).toBe(true);

    const parents = parentRecords(chunks as Record<string, unknown>[]);
    expect(parents.map((p) => [p['id'], p['content_with_weight'], p['available_int'], p['page_num_int']])).toEqual([
      [xxh64Hex(mom), mom, 0, [1]],
      [xxh64Hex('lone'), 'lone', 0, [3]],
    ]);
  });

  it('leaves other methods and configs without children_delimiter alone', () => {
    for (const task of [{ ...base, parser_id: 'qa' }, { ...base, parser_id: 'naive', parser_config: {} }, base]) {
      const chunks = buildChunks(task, merged, now);
      expect(chunks.map((c) => c.content_with_weight)).toEqual(merged.map((m) => m.text));
      expect(chunks.every((c) => !('mom_id' in c))).toBe(true);
    }
  });
});
