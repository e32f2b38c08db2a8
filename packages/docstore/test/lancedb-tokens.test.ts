import * as lancedb from '@lancedb/lancedb';
import { Field, FixedSizeList, Float32, Float64, Int32, List, Schema, Utf8 } from 'apache-arrow';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fineGrainedTokenize, tokenize } from '@ragline/rag-tokenizer';
import { describe, expect, it } from 'vitest';
import { createLanceDocStore } from '../src/index.js';
import { makeChunk } from './conformance.js';

const unit = (dim: number, axis: number) => Array.from({ length: dim }, (_, i) => (i === axis ? 1 : 0));

async function withDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'ragline-lance-tokens-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('lancedb token fields', () => {
  it('folds new rows into the indexes once writes pause, so the field boosts rank them', async () => {
    await withDir(async (dir) => {
      const store = createLanceDocStore({ dir, indexWhenIdleMs: 100 });
      try {
        const question = makeChunk({ kb_id: 'kb', doc_id: 'q', content_with_weight: 'Old files are compressed nightly', question_tks: tokenize('how are archives shrunk') }, unit(8, 0));
        const plain = makeChunk({ kb_id: 'kb', doc_id: 'p', content_with_weight: 'archives shrunk by hand' }, unit(8, 1));
        await store.upsert('t1', [question, plain]);
        await store.refresh('t1');
        const top = async () => (await store.search({ tenantId: 't1', query: 'archives shrunk', mode: 'fulltext' }))[0]?.doc_id;
        // question_tks^20 outweighs content_ltks^2 + content_sm_ltks once the rows are indexed
        const deadline = Date.now() + 10_000;
        while ((await top()) !== 'q' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
        expect(await top()).toBe('q');
      } finally {
        await store.close();
      }
    });
  });

  it('gives a table written before the fine-grained, keyword and question columns those columns, filled from each chunk', async () => {
    await withDir(async (dir) => {
      // a table as the first release wrote it: only content_ltks and title_tks as token columns
      const dim = 4;
      const str = (name: string) => new Field(name, new Utf8(), false);
      const oldSchema = new Schema([
        str('id'),
        str('doc_id'),
        str('kb_id'),
        str('docnm_kwd'),
        str('title_tks'),
        str('content_with_weight'),
        str('content_ltks'),
        new Field('page_num_int', new List(new Field('item', new Int32(), true)), false),
        new Field('create_timestamp_flt', new Float64(), false),
        new Field('available_int', new Int32(), false),
        new Field(`q_${dim}_vec`, new FixedSizeList(dim, new Field('item', new Float32(), true)), false),
        str('doc_json'),
      ]);
      const content = '数据库管理系统';
      const chunk = makeChunk({ id: 'c1', kb_id: 'kb', doc_id: 'd1', content_with_weight: content, question_tks: tokenize('where is the data kept'), important_kwd: ['storage engine'], important_tks: tokenize('storage engine') }, unit(dim, 0));
      const { [`q_${dim}_vec`]: vector, ...rest } = chunk as Record<string, unknown>;
      const db = await lancedb.connect(dir);
      const old = await db.createEmptyTable(`ragflow_t2__${dim}`, oldSchema);
      // two rows: BM25 gives a term that every row of a one-row table has no weight
      const other = { ...makeChunk({ id: 'c2', kb_id: 'kb', doc_id: 'd2', content_with_weight: 'unrelated text' }, unit(dim, 1)) } as Record<string, unknown>;
      const row = {
        id: 'c1',
        doc_id: 'd1',
        kb_id: 'kb',
        docnm_kwd: 'manual.pdf',
        title_tks: 'manual pdf',
        content_with_weight: content,
        content_ltks: tokenize(content),
        page_num_int: [1],
        create_timestamp_flt: 1,
        available_int: 1,
        [`q_${dim}_vec`]: vector,
        doc_json: JSON.stringify(rest),
      };
      const { [`q_${dim}_vec`]: otherVector, ...otherRest } = other;
      const otherRow = { ...row, id: 'c2', doc_id: 'd2', content_with_weight: 'unrelated text', content_ltks: tokenize('unrelated text'), [`q_${dim}_vec`]: otherVector, doc_json: JSON.stringify(otherRest) };
      await old.add(lancedb.makeArrowTable([row, otherRow], { schema: oldSchema }));
      old.close();
      db.close();
      expect(fineGrainedTokenize(tokenize(content)).split(' ')).toContain('管理');

      const store = createLanceDocStore({ dir });
      try {
        const ids = async (query: string) => (await store.search({ tenantId: 't2', query, mode: 'fulltext' })).map((h) => h.id);
        expect(await ids('管理')).toEqual(['c1']);
        expect(await ids('where is the data kept')).toEqual(['c1']);
        expect(await ids('storage engine')).toEqual(['c1']);
        expect(await store.count('t2')).toBe(2);
        expect(await store.get('t2', ['c1'])).toEqual([chunk]);
      } finally {
        await store.close();
      }
      // reopening finds nothing left to migrate
      const again = createLanceDocStore({ dir });
      try {
        expect(await again.count('t2')).toBe(2);
      } finally {
        await again.close();
      }
    });
  });
});
