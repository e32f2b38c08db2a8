import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLanceDocStore, DocStoreError, ftsQueryText, getVector } from '../src/index.js';
import { runDocStoreConformance } from './conformance.js';

runDocStoreConformance('lancedb', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ragline-docstore-'));
  const store = createLanceDocStore({ dir });
  return {
    store,
    reopen: async () => createLanceDocStore({ dir }),
    cleanup: async () => {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});

describe('lancedb specifics', () => {
  it('lower-cases and splits full-text queries on whitespace', () => {
    expect(ftsQueryText('  Hello\tWORLD\n  again ')).toBe('hello world again');
    expect(ftsQueryText('   ')).toBe('');
  });

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
