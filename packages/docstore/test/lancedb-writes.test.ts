import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as lancedb from '@lancedb/lancedb';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLanceDocStore } from '../src/index.js';
import { makeChunk } from './conformance.js';

const TENANT = 'writestenant';
const vec = (i: number) => Array.from({ length: 8 }, (_, j) => (j === i % 8 ? 1 : 0.01));
const chunk = (doc: string, text: string, id?: string) =>
  makeChunk({ kb_id: 'kb1', doc_id: doc, content_with_weight: text, ...(id ? { id } : {}) }, vec(text.length));

async function openTable(dir: string): Promise<lancedb.Table> {
  const db = await lancedb.connect(dir);
  return db.openTable(`ragflow_${TENANT}__8`);
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ragline-writes-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('LanceDB writes', () => {
  // The indexer handles several batches at once; each merge reads every fragment of the table, so
  // one commit per batch made a trickle of small documents slower and slower.
  it('merges upserts that arrive while a write runs into one commit', async () => {
    const store = createLanceDocStore({ dir });
    await store.ensureIndex(TENANT, 8);
    const before = await (await openTable(dir)).version();
    const calls = Array.from({ length: 20 }, (_, n) => store.upsert(TENANT, [chunk(`doc${n}`, `zebra ${n} a`), chunk(`doc${n}`, `zebra ${n} b`)]));
    const results = await Promise.all(calls);
    expect(results.map((r) => r.written)).toEqual(Array(20).fill(2));
    expect(results.flatMap((r) => r.errors)).toEqual([]);
    expect(await store.count(TENANT)).toBe(40);
    const commits = (await (await openTable(dir)).version()) - before;
    // the first call writes alone; the 19 that queued behind it share the next commit
    expect(commits).toBeGreaterThanOrEqual(1);
    expect(commits).toBeLessThanOrEqual(3);
    await store.close();
  });

  it('keeps the last write of an id across merged upserts, in call order', async () => {
    const store = createLanceDocStore({ dir });
    await store.ensureIndex(TENANT, 8);
    const id = 'aaaaaaaaaaaaaaaa';
    const writes = ['first', 'second', 'third', 'fourth'].map((word) => store.upsert(TENANT, [chunk('doc1', `zebra ${word}`, id)]));
    await Promise.all(writes);
    const [got] = await store.get(TENANT, [id]);
    expect(got?.content_with_weight).toBe('zebra fourth');
    expect(await store.count(TENANT)).toBe(1);
    await store.close();
  });

  it('caps a merged write at maxRowsPerWrite rows', async () => {
    const store = createLanceDocStore({ dir, maxRowsPerWrite: 4 });
    await store.ensureIndex(TENANT, 8);
    const before = await (await openTable(dir)).version();
    await Promise.all(Array.from({ length: 9 }, (_, n) => store.upsert(TENANT, [chunk(`doc${n}`, `zebra ${n} a`), chunk(`doc${n}`, `zebra ${n} b`)])));
    // 18 rows in writes of at most 2 calls each: at least 5 commits
    expect((await (await openTable(dir)).version()) - before).toBeGreaterThanOrEqual(5);
    expect(await store.count(TENANT)).toBe(18);
    await store.close();
  });

  it('an invalid chunk fails only its own id while the upserts merged with it are written', async () => {
    const store = createLanceDocStore({ dir });
    await store.ensureIndex(TENANT, 8);
    const [a, b, c] = await Promise.all([
      store.upsert(TENANT, [chunk('doc1', 'zebra one')]),
      store.upsert(TENANT, [chunk('doc2', 'zebra two'), { ...chunk('doc2', 'zebra bad', 'bbbbbbbbbbbbbbbb'), kb_id: 'kb one!' }]),
      store.upsert(TENANT, [chunk('doc3', 'zebra three')]),
    ]);
    expect([a.written, b.written, c.written]).toEqual([1, 1, 1]);
    expect(b.errors).toEqual([{ id: 'bbbbbbbbbbbbbbbb', reason: expect.stringContaining('kb_id'), retryable: false }]);
    expect(await store.count(TENANT)).toBe(3);
    await store.close();
  });

  it('compacts the fragments of many small writes on refresh once compactAfterWrites commits are in', async () => {
    const store = createLanceDocStore({ dir, compactAfterWrites: 10 });
    await store.ensureIndex(TENANT, 8);
    const fragments = async () => (await (await openTable(dir)).stats()).fragmentStats.numFragments;
    for (let n = 0; n < 9; n++) {
      await store.upsert(TENANT, [chunk(`doc${n}`, `zebra ${n}`)]);
      await store.refresh(TENANT);
    }
    expect(await fragments()).toBe(9);
    await store.upsert(TENANT, [chunk('doc9', 'zebra 9')]);
    await store.refresh(TENANT);
    expect(await fragments()).toBe(1);
    expect(await store.count(TENANT)).toBe(10);
    const hits = await store.search({ tenantId: TENANT, kbIds: ['kb1'], query: 'zebra', mode: 'fulltext', topK: 20 });
    expect(hits).toHaveLength(10);
    await store.close();
  });
});

describe('LanceDB reads beside a writer process', () => {
  // The indexer creates a table in one process while search or a test reads the store in another:
  // the table's folder is listed before its first version is committed.
  it('skips a table still being created, and sees it once it is committed', async () => {
    const creating = join(dir, `ragflow_${TENANT}__8.lance`);
    await mkdir(join(creating, 'data'), { recursive: true });
    const reader = createLanceDocStore({ dir });
    expect(await (await lancedb.connect(dir)).tableNames()).toContain(`ragflow_${TENANT}__8`);
    expect(await reader.count(TENANT)).toBe(0);
    expect(await reader.count(TENANT, { doc_id: 'd1' })).toBe(0);
    expect(await reader.get(TENANT, ['x'])).toEqual([]);
    expect(await reader.search({ tenantId: TENANT, query: 'zebra', mode: 'fulltext' })).toEqual([]);
    expect(await reader.search({ tenantId: TENANT, vector: vec(1), mode: 'vector' })).toEqual([]);

    await rm(creating, { recursive: true });
    const writer = createLanceDocStore({ dir });
    await writer.upsert(TENANT, [chunk('d1', 'zebra one'), chunk('d1', 'zebra two')]);
    expect(await reader.count(TENANT, { doc_id: 'd1' })).toBe(2);
    await Promise.all([reader.close(), writer.close()]);
  });
});
