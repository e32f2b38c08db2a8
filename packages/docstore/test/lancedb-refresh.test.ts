import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as lancedb from '@lancedb/lancedb';
import { describe, expect, it } from 'vitest';
import { createLanceDocStore } from '../src/index.js';
import { makeChunk } from './conformance.js';

const TENANT = 'refreshtenant';
const vec = (i: number) => Array.from({ length: 8 }, (_, j) => (j === i % 8 ? 1 : 0.01));

async function unindexedRows(dir: string): Promise<number> {
  const db = await lancedb.connect(dir);
  const table = await db.openTable(`ragflow_${TENANT}__8`);
  return Math.max(...(await table.listIndices()).map((i) => i.numUnindexedRows ?? 0));
}

describe('LanceDB refresh', () => {
  it('keeps new rows searchable without rewriting the table, and folds them in past the threshold', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ragline-refresh-'));
    try {
      const store = createLanceDocStore({ dir, optimizeAfterRows: 15 });
      await store.ensureIndex(TENANT, 8);
      const docs = (from: number, n: number) =>
        Array.from({ length: n }, (_, i) => makeChunk({ kb_id: 'kb1', doc_id: 'doc1', content_with_weight: `zebra number ${from + i}` }, vec(i)));
      await store.upsert(TENANT, docs(0, 10));
      await store.refresh(TENANT);
      expect(await unindexedRows(dir)).toBe(10);
      const hits = await store.search({ tenantId: TENANT, kbIds: ['kb1'], query: 'zebra', mode: 'fulltext', topK: 20 });
      expect(hits).toHaveLength(10);
      await store.upsert(TENANT, docs(10, 10));
      await store.refresh(TENANT);
      expect(await unindexedRows(dir)).toBe(0);
      expect(await store.search({ tenantId: TENANT, kbIds: ['kb1'], query: 'zebra', mode: 'fulltext', topK: 50 })).toHaveLength(20);
      await store.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
