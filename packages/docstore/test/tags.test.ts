import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tokenize } from '@ragline/rag-tokenizer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countTags, createLanceDocStore, mergedDocMetadata, paragraphQuery, splitCombinedValues, updateMetadataTo, type LanceDocStore } from '../src/index.js';
import { makeChunk } from './conformance.js';

const vec = (axis: number) => Array.from({ length: 4 }, (_, i) => (i === axis ? 1 : 0));

describe("RAGFlow's update_metadata_to and _split_combined_values", () => {
  it('merges string values into deduplicated lists, keeps scalars of the target and structured values only when absent', () => {
    expect(updateMetadataTo({ author: ['Ann'], year: 2020 }, { author: ['Bo', 'Ann'], year: 2024, outline: [{ title: 'x' }] })).toEqual({
      author: ['Ann', 'Bo'],
      year: 2024,
      outline: [{ title: 'x' }],
    });
    // a string joins a list; an empty list adds nothing; a structured list never merges into another
    expect(updateMetadataTo({ tags: ['a'], outline: [{ t: 1 }] }, { tags: 'b', empty: [], outline: [{ t: 2 }] })).toEqual({ tags: ['a', 'b'], outline: [{ t: 1 }] });
    expect(updateMetadataTo({ a: 1 }, null)).toEqual({ a: 1 });
  });

  it('splits values joined by 、 , ， ; ； | and drops repeats', () => {
    expect(splitCombinedValues({ who: ['关羽、孙权、张辽', 'Ann; Bo', 'Ann'], n: 3, mixed: [1, 'x|y'] })).toEqual({ who: ['关羽', '孙权', '张辽', 'Ann', 'Bo'], n: 3, mixed: [1, 'x', 'y'] });
  });

  it('is idempotent: a redelivered batch merges to the same stored entry', () => {
    const once = mergedDocMetadata({ author: ['Ann'] }, { author: ['Bo、Cy'], topic: 'tax' });
    expect(once).toEqual({ author: ['Bo', 'Cy', 'Ann'], topic: 'tax' });
    expect(mergedDocMetadata(once, { author: ['Bo、Cy'], topic: 'tax' })).toEqual(once);
  });
});

describe("RAGFlow's paragraph query for tagging", () => {
  it('puts important_kwd first as phrases, then the heaviest terms with weights, and counts a tenth of the clauses as must-match (at most 3)', () => {
    const content = tokenize('The quarterly tax report lists every refund, deduction and audit of the finance department');
    const q = paragraphQuery({ tokens: `${tokenize('tax report')} ${content}`, keywords: ['tax audit'], keywordsTopn: 30 }, { synonyms: { lookup: () => [] } });
    expect(q.queryString.startsWith('"tax audit" ')).toBe(true);
    const weighted = q.queryString.slice('"tax audit" '.length).split(' ');
    expect(weighted.every((c) => /^[^\s^]+\^[0-9.e-]+$/.test(c))).toBe(true);
    const weights = weighted.map((c) => Number(c.split('^')[1]));
    expect(weights).toEqual([...weights].sort((a, b) => b - a));
    expect(q.clauses).toHaveLength(weighted.length + 1);
    expect(q.minimumShouldMatch).toBe(Math.min(3, Math.round((weighted.length + 1) / 10)));
    // at most keywords_topn terms
    expect(paragraphQuery({ tokens: content, keywordsTopn: 3 }, { synonyms: { lookup: () => [] } }).clauses).toHaveLength(3);
  });

  it('ORs a term with its synonyms at a fifth of the weight', () => {
    const q = paragraphQuery({ tokens: 'refund' }, { synonyms: { lookup: (t: string) => (t === 'refund' ? ['repayment'] : []) } });
    expect(q.queryString).toMatch(/^\(refund OR \(repay\w*\)\^0\.2\)\^1\.0$/);
    expect(q.clauses).toEqual([['refund', expect.stringMatching(/^repay/)]]);
  });

  it('counts a document once per distinct tag, most frequent first, then by name', () => {
    expect(countTags([{ tag_kwd: ['b', 'a', 'a'] }, { tag_kwd: 'b' }, { tag_kwd: ['c'] }, {}])).toEqual([
      ['b', 2],
      ['a', 1],
      ['c', 1],
    ]);
  });
});

describe('embedded store as the tag source and metadata store', () => {
  let dir: string;
  let store: LanceDocStore;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ragline-tags-'));
    store = createLanceDocStore({ dir });
    const tagRow = (content: string, tags: string[], axis: number) =>
      makeChunk({ kb_id: 'tagkb', doc_id: 'tagdoc', content_with_weight: content, tag_kwd: tags } as Parameters<typeof makeChunk>[0], vec(axis));
    await store.upsert('t1', [
      tagRow('tax refund for the finance department', ['finance', 'tax'], 0),
      tagRow('annual tax audit of accounts', ['tax'], 1),
      tagRow('hiring and onboarding of staff', ['hr'], 2),
      makeChunk({ kb_id: 'otherkb', doc_id: 'o', content_with_weight: 'tax tax tax', tag_kwd: ['elsewhere'] } as Parameters<typeof makeChunk>[0], vec(3)),
    ]);
    await store.refresh('t1');
  });
  afterAll(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("counts every tag of the tag knowledge bases (RAGFlow's all_tags), only theirs", async () => {
    expect(await store.allTagCounts('t1', ['tagkb'])).toEqual([
      ['tax', 2],
      ['finance', 1],
      ['hr', 1],
    ]);
    expect(await store.allTagCounts('t1', [])).toEqual([]);
    expect(await store.allTagCounts('t-none', ['tagkb'])).toEqual([]);
  });

  it("counts the tags of the tag chunks a chunk's paragraph query matches", async () => {
    const tags = await store.matchingTagCounts('t1', ['tagkb'], { tokens: tokenize('a tax refund was paid'), keywords: [], keywordsTopn: 30 });
    expect(tags[0]).toEqual(['tax', 2]);
    expect(tags.map(([t]) => t)).not.toContain('hr');
    expect(tags.map(([t]) => t)).not.toContain('elsewhere');
  });

  it('keeps document metadata in ragflow_doc_meta_<tenant>, merged across batches, apart from the chunk tables', async () => {
    expect(await store.getDocMetadata('t1', 'doc1')).toBeUndefined();
    expect(await store.mergeDocMetadata('t1', 'kb1', 'doc1', { author: ['Ann、Bo'] })).toEqual({ author: ['Ann', 'Bo'] });
    expect(await store.mergeDocMetadata('t1', 'kb1', 'doc1', { author: ['Cy'], year: 2024 })).toEqual({ author: ['Cy', 'Ann', 'Bo'], year: 2024 });
    const reopened = createLanceDocStore({ dir });
    try {
      expect(await reopened.getDocMetadata('t1', 'doc1')).toEqual({ author: ['Cy', 'Ann', 'Bo'], year: 2024 });
      // the metadata table is not mistaken for a chunk table
      expect(await reopened.count('t1')).toBe(4);
    } finally {
      await reopened.close();
    }
  });
});
