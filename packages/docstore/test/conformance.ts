import { fineGrainedTokenize, tokenize } from '@ragline/rag-tokenizer';
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ParentChunk } from '@ragline/contracts';
import type { DocStore, StoredChunk } from '../src/index.js';
import { getVector } from '../src/index.js';

export interface StoreHandle {
  store: DocStore;
  cleanup(): Promise<void>;
  /** a second store over the same data after `store.close()`, when the backend can reopen */
  reopen?(): Promise<DocStore>;
  /** waits until the tenant's writes are in the indexes (a backend whose unindexed rows rank differently) */
  settle?(tenantId: string): Promise<void>;
}

const hexId = () => randomBytes(8).toString('hex');

/** A unit vector along axis `axis` with a small component along `lean`, float32-exact. */
function axisVector(dim: number, axis: number, lean?: number, amount = 0.25): number[] {
  const v = new Array<number>(dim).fill(0);
  v[axis] = 1;
  if (lean !== undefined) v[lean] = amount;
  const n = Math.hypot(...v);
  return Array.from(Float32Array.from(v, (x) => x / n));
}

export function makeChunk(over: Partial<StoredChunk> & { kb_id: string; doc_id: string; content_with_weight: string }, vector: number[]): StoredChunk {
  const now = 1_760_000_000.25;
  const base = {
    id: hexId(),
    docnm_kwd: 'manual.pdf',
    title_tks: 'manual pdf',
    title_sm_tks: 'manual pdf',
    content_ltks: tokenize(over.content_with_weight),
    content_sm_ltks: fineGrainedTokenize(tokenize(over.content_with_weight)),
    page_num_int: [1],
    position_int: [[1, 10, 200, 30, 60]],
    top_int: [30],
    important_kwd: [],
    create_time: '2025-10-09 08:53:20',
    create_timestamp_flt: now,
    img_id: '',
    token_count: over.content_with_weight.split(/\s+/).length,
    ...over,
  };
  return { ...base, [`q_${vector.length}_vec`]: vector } as StoredChunk;
}

/**
 * Behaviour every DocStore must show. Each test gets a fresh store and tenant; the Elasticsearch
 * adapter runs the same suite against its own makeStore.
 */
export function runDocStoreConformance(name: string, makeStore: () => Promise<StoreHandle>): void {
  describe(`DocStore conformance: ${name}`, () => {
    let h: StoreHandle;
    let store: DocStore;
    let tenant: string;
    const kb = 'kb-' + hexId();
    const otherKb = 'kb-' + hexId();

    beforeEach(async () => {
      h = await makeStore();
      store = h.store;
      tenant = 't' + hexId();
    });
    afterEach(async () => {
      await h.cleanup();
    });

    it('upserting the same chunks twice keeps one copy, with the latest content', async () => {
      await store.ensureIndex(tenant, 8);
      const a = makeChunk({ kb_id: kb, doc_id: 'd1', content_with_weight: 'first version' }, axisVector(8, 0));
      const b = makeChunk({ kb_id: kb, doc_id: 'd1', content_with_weight: 'other chunk' }, axisVector(8, 1));
      expect(await store.upsert(tenant, [a, b])).toEqual({ written: 2, errors: [] });
      const a2 = { ...a, content_with_weight: 'second version', content_ltks: tokenize('second version') };
      expect(await store.upsert(tenant, [a2, b])).toEqual({ written: 2, errors: [] });
      await store.refresh(tenant);
      expect(await store.count(tenant)).toBe(2);
      const [got] = await store.get(tenant, [a.id]);
      expect(got?.content_with_weight).toBe('second version');
    });

    it('get round-trips every field exactly, in the order asked', async () => {
      const a = makeChunk(
        {
          kb_id: kb,
          doc_id: 'd1',
          content_with_weight: 'Quotes \' and "double" and <table><tr><td>cells</td></tr></table> 中文',
          important_kwd: ['alpha', 'beta'],
          question_kwd: ['what is it?'],
          page_num_int: [3, 4],
          position_int: [[3, 1, 2, 3, 4], [4, 5, 6, 7, 8]],
          pagerank_fea: 10,
          available_int: 1,
        },
        axisVector(8, 2, 5, 0.3),
      );
      const b = makeChunk({ kb_id: kb, doc_id: 'd2', content_with_weight: 'second' }, axisVector(8, 3));
      expect((await store.upsert(tenant, [a, b])).errors).toEqual([]);
      const got = await store.get(tenant, [b.id, 'ffffffffffffffff', a.id]);
      expect(got).toEqual([b, a]);
      expect(getVector(got[1]!)).toMatchObject({ dim: 8, vector: (a as Record<string, unknown>).q_8_vec });
    });

    it('counts with kb and doc filters', async () => {
      const docs = [
        makeChunk({ kb_id: kb, doc_id: 'd1', content_with_weight: 'one' }, axisVector(8, 0)),
        makeChunk({ kb_id: kb, doc_id: 'd1', content_with_weight: 'two' }, axisVector(8, 1)),
        makeChunk({ kb_id: kb, doc_id: 'd2', content_with_weight: 'three' }, axisVector(8, 2)),
        makeChunk({ kb_id: otherKb, doc_id: 'd3', content_with_weight: 'four' }, axisVector(8, 3)),
      ];
      await store.upsert(tenant, docs);
      await store.refresh(tenant);
      expect(await store.count(tenant)).toBe(4);
      expect(await store.count(tenant, { kb_id: kb })).toBe(3);
      expect(await store.count(tenant, { kb_id: kb, doc_id: 'd1' })).toBe(2);
      expect(await store.count(tenant, { doc_id: 'd3' })).toBe(1);
      expect(await store.count(tenant, { kb_id: 'nope' })).toBe(0);
      expect(await store.count('t' + hexId())).toBe(0);
    });

    it('deletes by document and by ids, only inside the given kb', async () => {
      const d1a = makeChunk({ kb_id: kb, doc_id: 'd1', content_with_weight: 'one' }, axisVector(8, 0));
      const d1b = makeChunk({ kb_id: kb, doc_id: 'd1', content_with_weight: 'two' }, axisVector(8, 1));
      const d2a = makeChunk({ kb_id: kb, doc_id: 'd2', content_with_weight: 'three' }, axisVector(8, 2));
      const d2b = makeChunk({ kb_id: kb, doc_id: 'd2', content_with_weight: 'four' }, axisVector(8, 3));
      const foreign = makeChunk({ kb_id: otherKb, doc_id: 'd1', content_with_weight: 'five' }, axisVector(8, 4));
      await store.upsert(tenant, [d1a, d1b, d2a, d2b, foreign]);
      await store.refresh(tenant);
      expect(await store.deleteByDoc(tenant, kb, 'd1')).toBe(2);
      expect(await store.deleteByIds(tenant, otherKb, [d2a.id])).toBe(0);
      expect(await store.deleteByIds(tenant, kb, [d2a.id, 'ffffffffffffffff'])).toBe(1);
      await store.refresh(tenant);
      expect((await store.get(tenant, [d1a.id, d1b.id, d2a.id, d2b.id, foreign.id])).map((d) => d.id)).toEqual([d2b.id, foreign.id]);
      expect(await store.deleteByDoc(tenant, kb, 'nothing-here')).toBe(0);
    });

    it('rejects ids that could break out of a filter', async () => {
      await store.ensureIndex(tenant, 8);
      await expect(store.deleteByDoc(tenant, kb, "x' OR '1'='1")).rejects.toMatchObject({ retryable: false });
      await expect(store.count(tenant, { kb_id: 'a b' })).rejects.toMatchObject({ retryable: false });
      await expect(store.count('../etc')).rejects.toMatchObject({ retryable: false });
      const bad = makeChunk({ kb_id: "kb'; drop", doc_id: 'd1', content_with_weight: 'x' }, axisVector(8, 0));
      const good = makeChunk({ kb_id: kb, doc_id: 'd1', content_with_weight: 'y' }, axisVector(8, 1));
      const res = await store.upsert(tenant, [bad, good]);
      expect(res.written).toBe(1);
      expect(res.errors).toEqual([{ id: bad.id, reason: expect.stringContaining('kb_id') as string, retryable: false }]);
    });

    it('reports a chunk without a usable vector as a permanent per-item error', async () => {
      const ok = makeChunk({ kb_id: kb, doc_id: 'd1', content_with_weight: 'fine' }, axisVector(8, 0));
      const noVec = { ...makeChunk({ kb_id: kb, doc_id: 'd1', content_with_weight: 'novec' }, axisVector(8, 1)) } as Record<string, unknown>;
      delete noVec.q_8_vec;
      const shortVec = { ...makeChunk({ kb_id: kb, doc_id: 'd1', content_with_weight: 'short' }, axisVector(8, 1)), q_8_vec: [1, 2, 3] };
      const res = await store.upsert(tenant, [ok, noVec as StoredChunk, shortVec]);
      expect(res.written).toBe(1);
      expect(res.errors.map((e) => [e.id, e.retryable])).toEqual([
        [noVec.id, false],
        [shortVec.id, false],
      ]);
    });

    it('full-text search finds the right chunk, case-insensitively, within the kb filter', async () => {
      const docs = [
        makeChunk({ kb_id: kb, doc_id: 'd1', content_with_weight: 'The invoice total is due within thirty days' }, axisVector(8, 0)),
        makeChunk({ kb_id: kb, doc_id: 'd1', content_with_weight: 'Penguins live in the southern hemisphere' }, axisVector(8, 1)),
        makeChunk({ kb_id: kb, doc_id: 'd2', content_with_weight: 'Shipping takes five business days' }, axisVector(8, 2)),
        makeChunk({ kb_id: otherKb, doc_id: 'd3', content_with_weight: 'Another invoice in another knowledge base' }, axisVector(8, 3)),
      ];
      await store.upsert(tenant, docs);
      await store.refresh(tenant);
      const hits = await store.search({ tenantId: tenant, kbIds: [kb], query: 'INVOICE due', mode: 'fulltext' });
      expect(hits.map((x) => x.id)).toEqual([docs[0]!.id]);
      expect(hits[0]).toMatchObject({ doc_id: 'd1', kb_id: kb, docnm_kwd: 'manual.pdf', content_with_weight: docs[0]!.content_with_weight, page_num_int: [1], text_score: 1, vector_score: 0, score: 1 });

      const days = await store.search({ tenantId: tenant, kbIds: [kb], query: 'days', mode: 'fulltext' });
      expect(days.map((x) => x.id).sort()).toEqual([docs[0]!.id, docs[2]!.id].sort());
      expect(days.every((x) => x.text_score > 0 && x.text_score <= 1)).toBe(true);

      const allKbs = await store.search({ tenantId: tenant, query: 'invoice', mode: 'fulltext' });
      expect(allKbs.map((x) => x.id).sort()).toEqual([docs[0]!.id, docs[3]!.id].sort());
      const byDoc = await store.search({ tenantId: tenant, docIds: ['d3'], query: 'invoice', mode: 'fulltext' });
      expect(byDoc.map((x) => x.id)).toEqual([docs[3]!.id]);
      expect(await store.search({ tenantId: tenant, kbIds: [], query: 'invoice', mode: 'fulltext' })).toEqual([]);
      expect(await store.search({ tenantId: tenant, query: 'zebra', mode: 'fulltext' })).toEqual([]);
    });

    it('full-text search comes to see chunks written after the last refresh without another refresh', async () => {
      await store.ensureIndex(tenant, 8);
      await store.upsert(tenant, [makeChunk({ kb_id: kb, doc_id: 'd1', content_with_weight: 'alpha beta' }, axisVector(8, 0))]);
      await store.refresh(tenant);
      const late = makeChunk({ kb_id: kb, doc_id: 'd1', content_with_weight: 'gamma delta' }, axisVector(8, 1));
      await store.upsert(tenant, [late]);
      // LanceDB scans unindexed rows at once; Elasticsearch is near-real-time (refresh_interval 1 s)
      await expect
        .poll(async () => (await store.search({ tenantId: tenant, query: 'gamma', mode: 'fulltext' })).map((x) => x.id), { timeout: 5000, interval: 250 })
        .toEqual([late.id]);
    });

    it('vector search returns nearest neighbours in cosine order', async () => {
      const dim = 8;
      const docs = [0, 1, 2, 3, 4].map((axis) => makeChunk({ kb_id: kb, doc_id: 'd1', content_with_weight: `axis ${axis}` }, axisVector(dim, axis)));
      const near = makeChunk({ kb_id: kb, doc_id: 'd1', content_with_weight: 'near axis 2' }, axisVector(dim, 2, 3, 0.5));
      const foreign = makeChunk({ kb_id: otherKb, doc_id: 'd9', content_with_weight: 'exactly axis 2' }, axisVector(dim, 2));
      await store.upsert(tenant, [...docs, near, foreign]);
      await store.refresh(tenant);
      const q = axisVector(dim, 2, 3, 0.1);
      const hits = await store.search({ tenantId: tenant, kbIds: [kb], vector: q, mode: 'vector', topK: 3 });
      expect(hits.map((x) => x.id)).toEqual([docs[2]!.id, near.id, docs[3]!.id]);
      for (const x of hits) {
        expect(x.score).toBe(x.vector_score);
        expect(x.text_score).toBe(0);
      }
      expect(hits[0]!.vector_score).toBeGreaterThan(hits[1]!.vector_score);
      expect(hits[1]!.vector_score).toBeGreaterThan(hits[2]!.vector_score);
      expect(hits[0]!.vector_score).toBeCloseTo(1 / Math.hypot(1, 0.1), 4);
      // a vector of a dimension the tenant never stored finds nothing
      expect(await store.search({ tenantId: tenant, vector: axisVector(16, 0), mode: 'vector' })).toEqual([]);
    });

    it('full-text finds Chinese words inside long runs and English by stem, as RAGFlow tokens', async () => {
      const zh = makeChunk({ kb_id: kb, doc_id: 'd1', content_with_weight: '每个消费者组都独立地记录自己已经确认过的消息位置，重新启动之后从那里继续读取' }, axisVector(8, 0));
      const en = makeChunk({ kb_id: kb, doc_id: 'd2', content_with_weight: 'You may convey verbatim copies of the Program source code' }, axisVector(8, 1));
      await store.upsert(tenant, [zh, en]);
      await store.refresh(tenant);
      const zhHits = await store.search({ tenantId: tenant, kbIds: [kb], query: '消费者组', mode: 'fulltext' });
      expect(zhHits.map((x) => x.id)).toEqual([zh.id]);
      const enHits = await store.search({ tenantId: tenant, kbIds: [kb], query: 'copying the program', mode: 'fulltext' });
      expect(enHits[0]!.id).toBe(en.id);
    });

    it("full-text searches every RAGFlow token field: fine-grained tokens, keywords, questions, ranked by the fields' boosts", async () => {
      // '管理' is only a fine-grained token of '数据库管理系统' (tokenize keeps 管理系统 whole)
      expect(tokenize('数据库管理系统').split(' ')).not.toContain('管理');
      const fine = makeChunk({ kb_id: kb, doc_id: 'd1', content_with_weight: '数据库管理系统' }, axisVector(8, 0));
      const keyword = makeChunk(
        { kb_id: kb, doc_id: 'd2', content_with_weight: 'Keep old files for a week', important_kwd: ['logrotate'], important_tks: tokenize('logrotate') },
        axisVector(8, 1),
      );
      const question = makeChunk(
        { kb_id: kb, doc_id: 'd3', content_with_weight: 'Old files are compressed nightly', question_tks: tokenize('how are archives shrunk') },
        axisVector(8, 2),
      );
      // the same words in plain content weigh less than in a question (content_ltks^2 against question_tks^20)
      const plain = makeChunk({ kb_id: kb, doc_id: 'd4', content_with_weight: 'archives shrunk by hand' }, axisVector(8, 3));
      await store.upsert(tenant, [fine, keyword, question, plain]);
      await store.refresh(tenant);
      await h.settle?.(tenant);
      const ids = async (query: string) => (await store.search({ tenantId: tenant, kbIds: [kb], query, mode: 'fulltext' })).map((x) => x.id);
      expect(await ids('管理')).toEqual([fine.id]);
      expect(await ids('logrotate')).toEqual([keyword.id]);
      expect(await ids('archives shrunk')).toEqual([question.id, plain.id]);
    });

    it('hybrid search scores as RAGFlow rerank: keyword token similarity fused with cosine', async () => {
      const dim = 8;
      const textOnly = makeChunk({ kb_id: kb, doc_id: 'd1', content_with_weight: 'refund policy refund window' }, axisVector(dim, 0));
      const vecOnly = makeChunk({ kb_id: kb, doc_id: 'd1', content_with_weight: 'totally unrelated words' }, axisVector(dim, 5));
      const both = makeChunk({ kb_id: kb, doc_id: 'd2', content_with_weight: 'refund requests arrive daily' }, axisVector(dim, 5, 1, 0.2));
      const noise = [1, 2, 3].map((a) => makeChunk({ kb_id: kb, doc_id: 'd3', content_with_weight: `noise ${a}` }, axisVector(dim, a)));
      await store.upsert(tenant, [textOnly, vecOnly, both, ...noise]);
      await store.refresh(tenant);
      const q = axisVector(dim, 5);
      const base = { tenantId: tenant, kbIds: [kb], query: 'refund', vector: q, mode: 'hybrid' as const, topK: 3 };

      const hits = await store.search(base);
      expect(hits).toHaveLength(3);
      for (const x of hits) {
        expect(x.text_score).toBeGreaterThanOrEqual(0);
        expect(x.text_score).toBeLessThanOrEqual(1);
        expect(x.score).toBeCloseTo(0.7 * x.text_score + 0.3 * x.vector_score, 6);
      }
      // RAGFlow's token similarity of a one-word query to a chunk holding it (keywords [w, w]: 0.4 / 0.7)
      expect(Math.max(...hits.map((x) => x.text_score))).toBeCloseTo(0.4 / 0.7, 6);
      expect(hits[0]!.id).toBe(both.id);
      const vo = hits.find((x) => x.id === vecOnly.id);
      expect(vo!.text_score).toBeCloseTo(0, 6);
      expect(vo!.vector_score).toBeCloseTo(1, 5);

      // The weight moves the balance: all vector puts the exact vector match first.
      const vectorHeavy = await store.search({ ...base, vectorSimilarityWeight: 1 });
      expect(vectorHeavy[0]!.id).toBe(vecOnly.id);
      const textHeavy = await store.search({ ...base, vectorSimilarityWeight: 0 });
      expect(textHeavy.slice(0, 2).map((x) => x.id).sort()).toEqual([textOnly.id, both.id].sort());
      expect(textHeavy[2]!.score).toBeCloseTo(0, 6);
    });

    it('stores unavailable chunks (available_int 0) but never returns them from search', async () => {
      const hidden = makeChunk({ kb_id: kb, doc_id: 'd1', content_with_weight: 'mother chunk text', available_int: 0 }, axisVector(8, 0));
      const shown = makeChunk({ kb_id: kb, doc_id: 'd1', content_with_weight: 'child chunk text' }, axisVector(8, 0, 1, 0.1));
      await store.upsert(tenant, [hidden, shown]);
      await store.refresh(tenant);
      expect(await store.count(tenant, { kb_id: kb })).toBe(2);
      expect(await store.get(tenant, [hidden.id])).toEqual([hidden]);
      for (const mode of ['fulltext', 'vector', 'hybrid'] as const) {
        const hits = await store.search({ tenantId: tenant, query: 'chunk text', vector: axisVector(8, 0), mode });
        expect(hits.map((x) => x.id)).toEqual([shown.id]);
      }
    });

    it('parent records: stored without a vector, read by get, never searched, counted and removed with their document', async () => {
      const child = makeChunk({ kb_id: kb, doc_id: 'd1', content_with_weight: 'child piece one', mom_id: 'aaaaaaaaaaaaaaaa' }, axisVector(8, 0));
      const sibling = makeChunk({ kb_id: kb, doc_id: 'd2', content_with_weight: 'other doc piece' }, axisVector(8, 1));
      const parent: ParentChunk = {
        id: 'aaaaaaaaaaaaaaaa',
        content_with_weight: 'child piece one. child piece two.',
        doc_id: 'd1',
        docnm_kwd: 'manual.pdf',
        kb_id: kb,
        available_int: 0,
        position_int: [[1, 10, 200, 30, 60]],
        create_timestamp_flt: 1_760_000_000.25,
        page_num_int: [1],
        top_int: [30],
      };
      const other: ParentChunk = { ...parent, id: 'bbbbbbbbbbbbbbbb', doc_id: 'd2', content_with_weight: 'other doc piece and more' };
      // a parent can arrive before any vector batch of its tenant: the index must not be needed yet
      expect(await store.upsertParents(tenant, [parent, other])).toEqual({ written: 2, errors: [] });
      expect(await store.upsertParents(tenant, [{ ...parent, content_with_weight: 'child piece one. child piece two!' }])).toEqual({ written: 1, errors: [] });
      await store.upsert(tenant, [child, sibling]);
      await store.refresh(tenant);
      const updated = { ...parent, content_with_weight: 'child piece one. child piece two!' };
      expect(await store.get(tenant, [child.id, parent.id])).toEqual([child, updated]);
      expect(await store.count(tenant, { kb_id: kb })).toBe(4);
      expect(await store.count(tenant, { kb_id: kb, doc_id: 'd1' })).toBe(2);
      for (const mode of ['fulltext', 'vector', 'hybrid'] as const) {
        const hits = await store.search({ tenantId: tenant, query: 'child piece', vector: axisVector(8, 0), mode, topK: 10 });
        expect(hits.map((x) => x.id)).not.toContain(parent.id);
        expect(hits.map((x) => x.id)).toContain(child.id);
      }
      const withVector = { ...parent, id: 'cccccccccccccccc', q_8_vec: axisVector(8, 0) } as unknown as ParentChunk;
      const bad = await store.upsertParents(tenant, [withVector]);
      expect(bad.written).toBe(0);
      expect(bad.errors).toMatchObject([{ id: 'cccccccccccccccc', retryable: false }]);
      expect(await store.deleteByDoc(tenant, kb, 'd1')).toBe(2);
      expect(await store.deleteByIds(tenant, otherKb, [other.id])).toBe(0);
      expect(await store.deleteByIds(tenant, kb, [other.id])).toBe(1);
      await store.refresh(tenant);
      expect((await store.get(tenant, [child.id, parent.id, other.id, sibling.id])).map((d) => d.id)).toEqual([sibling.id]);
    });

    it('keeps knowledge bases apart for search, count and delete', async () => {
      const mine = makeChunk({ kb_id: kb, doc_id: 'same-doc', content_with_weight: 'shared words here' }, axisVector(8, 0));
      const theirs = makeChunk({ kb_id: otherKb, doc_id: 'same-doc', content_with_weight: 'shared words here too' }, axisVector(8, 0));
      await store.upsert(tenant, [mine, theirs]);
      await store.refresh(tenant);
      for (const mode of ['fulltext', 'vector', 'hybrid'] as const) {
        const hits = await store.search({ tenantId: tenant, kbIds: [kb], query: 'shared', vector: axisVector(8, 0), mode });
        expect(hits.map((x) => x.id)).toEqual([mine.id]);
      }
      expect(await store.deleteByDoc(tenant, otherKb, 'same-doc')).toBe(1);
      expect(await store.count(tenant, { kb_id: kb })).toBe(1);
      // another tenant sees nothing of this one
      expect(await store.search({ tenantId: 't' + hexId(), query: 'shared', mode: 'fulltext' })).toEqual([]);
    });

    it('keeps 1024- and 384-dim vectors side by side', async () => {
      await store.ensureIndex(tenant, 1024);
      await store.ensureIndex(tenant, 384);
      await store.ensureIndex(tenant, 384);
      const big = makeChunk({ kb_id: kb, doc_id: 'd1', content_with_weight: 'large model chunk' }, axisVector(1024, 7));
      const small = makeChunk({ kb_id: kb, doc_id: 'd2', content_with_weight: 'small model chunk' }, axisVector(384, 7));
      expect(await store.upsert(tenant, [big, small])).toEqual({ written: 2, errors: [] });
      await store.refresh(tenant);
      expect(await store.count(tenant)).toBe(2);
      expect(await store.get(tenant, [big.id, small.id])).toEqual([big, small]);
      const v1024 = await store.search({ tenantId: tenant, vector: axisVector(1024, 7), mode: 'vector' });
      expect(v1024.map((x) => x.id)).toEqual([big.id]);
      const v384 = await store.search({ tenantId: tenant, vector: axisVector(384, 7), mode: 'vector' });
      expect(v384.map((x) => x.id)).toEqual([small.id]);
      const text = await store.search({ tenantId: tenant, query: 'chunk', mode: 'fulltext' });
      expect(text.map((x) => x.id).sort()).toEqual([big.id, small.id].sort());

      // re-embedding a chunk with the other model replaces it rather than duplicating it
      const { q_1024_vec: _, ...rest } = big as Record<string, unknown>;
      const moved = { ...rest, q_384_vec: axisVector(384, 9) } as unknown as StoredChunk;
      await store.upsert(tenant, [moved]);
      expect(await store.count(tenant)).toBe(2);
      expect(await store.get(tenant, [big.id])).toEqual([moved]);
    });

    it('keeps its data across close and reopen', async () => {
      if (!h.reopen) return;
      const a = makeChunk({ kb_id: kb, doc_id: 'd1', content_with_weight: 'durable words' }, axisVector(8, 1));
      await store.upsert(tenant, [a]);
      await store.refresh(tenant);
      await store.close();
      const again = await h.reopen();
      try {
        expect(await again.count(tenant)).toBe(1);
        expect(await again.get(tenant, [a.id])).toEqual([a]);
        const hits = await again.search({ tenantId: tenant, query: 'durable', vector: axisVector(8, 1), mode: 'hybrid' });
        expect(hits.map((x) => x.id)).toEqual([a.id]);
      } finally {
        await again.close();
      }
    });

    it('serialises concurrent upserts without losing or duplicating chunks', async () => {
      const batches = Array.from({ length: 6 }, (_, b) =>
        Array.from({ length: 5 }, (_, i) => makeChunk({ kb_id: kb, doc_id: `d${b}`, content_with_weight: `batch ${b} item ${i}` }, axisVector(8, i))),
      );
      const results = await Promise.all([...batches, batches[0]!].map((docs) => store.upsert(tenant, docs)));
      expect(results.every((r) => r.errors.length === 0)).toBe(true);
      expect(results.map((r) => r.written)).toEqual([5, 5, 5, 5, 5, 5, 5]);
      await store.refresh(tenant);
      expect(await store.count(tenant)).toBe(30);
    });
  });
}
