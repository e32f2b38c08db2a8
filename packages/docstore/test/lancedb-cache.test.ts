import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLanceDocStore } from '../src/index.js';
import { makeChunk } from './conformance.js';

const TENANT = 'cachetenant';
const vec = (i: number) => Array.from({ length: 8 }, (_, j) => (j === i % 8 ? 1 : 0.01));

describe('LanceDB caches', () => {
  // Every upsert commits a table version whose metadata LanceDB caches; with its default 6 GB + 1 GB
  // caches a long-running indexer's memory kept growing. The store's own bounds must apply.
  it('stay within the configured bounds however many versions the writes commit', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ragline-cache-'));
    const bound = 256 * 1024;
    try {
      const store = createLanceDocStore({ dir, indexCacheBytes: bound, metadataCacheBytes: bound });
      await store.ensureIndex(TENANT, 8);
      let peak = 0;
      for (let n = 0; n < 60; n++) {
        const docs = Array.from({ length: 3 }, (_, i) =>
          makeChunk({ kb_id: 'kb1', doc_id: `doc${n}`, content_with_weight: `zebra ${n} ${i}` }, vec(i)),
        );
        expect((await store.upsert(TENANT, docs)).errors).toEqual([]);
        await store.refresh(TENANT);
        await store.search({ tenantId: TENANT, kbIds: ['kb1'], query: 'zebra', mode: 'fulltext', topK: 5 });
        peak = Math.max(peak, store.cacheBytes());
      }
      // the caches are in use (a session lancedb ignored reports a few bytes) and bounded (the default
      // session holds several MB after these writes)
      expect(peak).toBeGreaterThan(bound / 4);
      expect(peak).toBeLessThanOrEqual(2 * bound);
      expect(await store.count(TENANT)).toBe(180);
      await store.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
