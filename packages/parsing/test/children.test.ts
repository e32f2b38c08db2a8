import { readFileSync } from 'node:fs';
import { describe, expect, it, beforeAll } from 'vitest';
import { childDelimiterPattern, momText, parentRecords, splitChildren } from '../src/children.js';
import { initHashing, xxh64Hex } from '../src/hash.js';

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
