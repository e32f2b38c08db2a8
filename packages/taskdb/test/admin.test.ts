import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createTaskDb } from '../src/index.js';
import { createTestTaskDb, dropDatabase, rawQuery } from '../src/testing.js';

describe('admin helpers', () => {
  it('pings before the database exists, finds a knowledge base by name, drops the database', async () => {
    const database = `ragline_t_${randomBytes(4).toString('hex')}`;
    const db = createTestTaskDb({ database });
    try {
      await db.ping();
      await db.migrate();
      const tenantId = await db.ensureTenant({ embdId: 'm@f' });
      const kb = await db.ensureKnowledgebase({ name: 'docs', tenantId, embdId: 'm@f' });
      const found = await db.findKnowledgebaseByName('docs');
      expect(found?.id).toBe(kb.id);
      expect(found?.vector_similarity_weight).toBeCloseTo(0.3);
      expect(await db.findKnowledgebaseByName('docs', 'other-tenant')).toBeNull();
      expect(await db.findKnowledgebaseByName('missing')).toBeNull();
    } finally {
      await db.dropDatabase();
      await db.close();
    }
    const check = createTaskDb({ database: 'information_schema' });
    try {
      await check.ping();
    } finally {
      await check.close();
    }
  });

  it('the testing helpers work on a TaskDb made by createTaskDb, which has no test-only methods itself', async () => {
    const database = `ragline_t_${randomBytes(4).toString('hex')}`;
    const db = createTaskDb({ database });
    try {
      expect('dropDatabase' in db || 'failTask' in db || 'getStorageAddress' in db || 'insertTasks' in db).toBe(false);
      await db.migrate();
      await rawQuery(db, "INSERT INTO tenant (id, name, llm_id, embd_id, asr_id, img2txt_id, rerank_id, parser_ids, credit, status) VALUES ('t1', 'raw', '', 'm@f', '', '', '', '', 0, '1')");
      expect(await rawQuery(db, 'SELECT id, name FROM tenant WHERE id = ?', ['t1'])).toEqual([{ id: 't1', name: 'raw' }]);
      await dropDatabase(db);
      expect(await rawQuery(db, 'SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?', [database])).toEqual([]);
    } finally {
      await db.close();
    }
  });

  it('ping fails with a retryable error when the server is unreachable', async () => {
    const db = createTaskDb({ port: 1, password: 'sekrit-pw' });
    const err = await db.ping().then(() => null, (e: Error & { retryable?: boolean }) => e);
    expect(err?.retryable).toBe(true);
    expect(err?.message).not.toContain('sekrit-pw');
    await db.close();
  });
});
