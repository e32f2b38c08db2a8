import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { createLanceDocStore, DocStoreError, getVector } from '../src/index.js';
import { makeChunk, runDocStoreConformance } from './conformance.js';

runDocStoreConformance('lancedb', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ragline-docstore-'));
  const store = createLanceDocStore({ dir });
  return {
    store,
    reopen: async () => createLanceDocStore({ dir }),
    settle: (tenantId) => store.indexPending(tenantId),
    cleanup: async () => {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});

describe('lancedb specifics', () => {

  it('getVector finds the one q_<dim>_vec field and rejects bad ones', () => {
    expect(getVector({ id: 'x', q_3_vec: [1, 2, 3] })).toEqual({ dim: 3, vector: [1, 2, 3], field: 'q_3_vec' });
    expect(() => getVector({ id: 'x' })).toThrow(DocStoreError);
    expect(() => getVector({ q_3_vec: [1, 2] })).toThrow(/2 values, expected 3/);
    expect(() => getVector({ q_2_vec: [1, 2], q_3_vec: [1, 2, 3] })).toThrow(/two vector fields/);
    expect(() => getVector({ q_2_vec: [1, Number.NaN] })).toThrow(/non-finite/);
  });

  it('fails operations after close with a permanent error', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ragline-docstore-'));
    const store = createLanceDocStore({ dir });
    try {
      await store.ensureIndex('t1', 4);
      await store.close();
      await expect(store.count('t1')).rejects.toMatchObject({ name: 'DocStoreError', retryable: false });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('lancedb across connections and processes', () => {
  const unit = (dim: number, axis: number) => Array.from({ length: dim }, (_, i) => (i === axis ? 1 : 0));

  it('a second store on the same directory sees writes made after it opened the table', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ragline-docstore-'));
    const writer = createLanceDocStore({ dir });
    const reader = createLanceDocStore({ dir });
    try {
      const first = makeChunk({ kb_id: 'kb1', doc_id: 'd1', content_with_weight: 'first words' }, unit(8, 0));
      await writer.upsert('t1', [first]);
      expect(await reader.count('t1')).toBe(1);
      const second = makeChunk({ kb_id: 'kb1', doc_id: 'd1', content_with_weight: 'second words' }, unit(8, 1));
      await writer.upsert('t1', [second]);
      await writer.refresh('t1');
      expect(await reader.count('t1')).toBe(2);
      const hits = await reader.search({ tenantId: 't1', query: 'second', mode: 'fulltext' });
      expect(hits.map((h) => h.id)).toEqual([second.id]);
    } finally {
      await reader.close();
      await writer.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('another process reads the table while the writer keeps it open', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ragline-docstore-'));
    const writer = createLanceDocStore({ dir });
    try {
      const docs = [0, 1, 2].map((i) => makeChunk({ kb_id: 'kb1', doc_id: 'd1', content_with_weight: `row ${i}` }, unit(8, i)));
      await writer.upsert('t1', docs);
      await writer.refresh('t1');
      const pkgDir = join(dirname(fileURLToPath(import.meta.url)), '..');
      const script = `
        import * as lancedb from '@lancedb/lancedb';
        const db = await lancedb.connect(process.argv[1]);
        const t = await db.openTable('ragflow_t1__8');
        const rows = await t.query().where("kb_id = 'kb1'").select(['id']).toArray();
        console.log(JSON.stringify(rows.map((r) => r.id).sort()));`;
      const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script, dir], { cwd: pkgDir });
      expect(JSON.parse(stdout)).toEqual(docs.map((d) => d.id).sort());
      await writer.upsert('t1', [makeChunk({ kb_id: 'kb1', doc_id: 'd1', content_with_weight: 'after' }, unit(8, 3))]);
      expect(await writer.count('t1')).toBe(4);
    } finally {
      await writer.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
