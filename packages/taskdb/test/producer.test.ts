import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TaskDbNotFoundError, taskDigest } from '../src/index.js';
import { freshDb, seedDocument, type TestDb } from './helpers.js';

let t: TestDb;
beforeAll(async () => {
  t = await freshDb();
});
afterAll(async () => {
  await t?.cleanup();
});

describe('producer side', () => {
  it('ensureTenant and ensureKnowledgebase find before they create', async () => {
    const a = await t.db.ensureTenant({ name: 'acme', embdId: 'm1' });
    const [b, c] = await Promise.all([t.db.ensureTenant({ name: 'acme', embdId: 'm1' }), t.db.ensureTenant({ name: 'acme', embdId: 'm1' })]);
    expect(b).toBe(a);
    expect(c).toBe(a);
    expect(a).toMatch(/^[0-9a-f]{32}$/);
    expect(await t.db.ensureTenant({ id: 'fixedtenant', embdId: 'm1' })).toBe('fixedtenant');
    expect(await t.db.ensureTenant({ id: 'fixedtenant', embdId: 'm2' })).toBe('fixedtenant');

    const kbs = await Promise.all([1, 2, 3].map(() => t.db.ensureKnowledgebase({ name: 'docs', tenantId: a, embdId: 'm1' })));
    expect(new Set(kbs.map((k) => k.id)).size).toBe(1);
    expect(kbs[0]).toMatchObject({ tenant_id: a, name: 'docs', embd_id: 'm1', parser_id: 'naive', language: 'English', permission: 'me', created_by: a });
    expect(kbs[0]!.parser_config).toEqual({ pages: [[1, 1000000]], table_context_size: 0, image_context_size: 0 });
    await expect(t.db.ensureKnowledgebase({ name: 'x', tenantId: 'nope', embdId: 'm' })).rejects.toBeInstanceOf(TaskDbNotFoundError);
  });

  it('createDocument counts the document in the knowledge base', async () => {
    const tenant = await t.db.ensureTenant({ name: 'docs-tenant', embdId: 'm1' });
    const kb = await t.db.ensureKnowledgebase({ name: 'k', tenantId: tenant, embdId: 'm1' });
    const doc = await t.db.createDocument({ kbId: kb.id, name: 'a.pdf', location: 'a.pdf', size: 10, type: 'pdf', suffix: 'pdf', parserId: 'naive', parserConfig: { x: 1 } });
    expect(doc).toMatchObject({ kb_id: kb.id, name: 'a.pdf', type: 'pdf', run: '0', status: '1', progress: 0, created_by: tenant, parser_config: { x: 1 } });
    expect(doc.create_date).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
    expect((await t.db.getKnowledgebase(kb.id))!.doc_num).toBe(1);
    await expect(
      t.db.createDocument({ kbId: 'missing', name: 'a', location: 'a', size: 1, type: 'doc', suffix: 'txt', parserId: 'naive', parserConfig: {} }),
    ).rejects.toBeInstanceOf(TaskDbNotFoundError);
  });

  it('queueDocument plans, digests, inserts and marks the document queued', async () => {
    const s = await seedDocument(t.db, { type: 'pdf', pages: 30, kbName: 'queue' });
    expect(s.tasks.map((x) => [x.from_page, x.to_page])).toEqual([
      [0, 12],
      [12, 24],
      [24, 30],
    ]);
    const config = (await t.db.chunkingConfig(s.doc.id))!;
    expect(Object.keys(config).sort()).toEqual(
      ['asr_id', 'content_hash', 'embd_id', 'id', 'img2txt_id', 'kb_id', 'language', 'llm_id', 'parser_config', 'parser_id', 'size', 'tenant_id'].sort(),
    );
    for (const q of s.tasks) {
      expect(q.digest).toBe(taskDigest(config, q));
      expect(Object.keys(q)).toEqual(['id', 'doc_id', 'progress', 'from_page', 'to_page', 'begin_at', 'digest', 'priority', 'create_time', 'create_date', 'update_time', 'update_date']);
      const row = (await t.db.getTask(q.id))!;
      expect(row).toMatchObject({ doc_id: s.doc.id, progress: 0, retry_count: 0, digest: q.digest, create_time: q.create_time, create_date: q.create_date, begin_at: q.begin_at });
    }
    expect(s.tasks[1]!.create_time - s.tasks[0]!.create_time).toBe(1);
    const doc = (await t.db.getDocument(s.doc.id))!;
    expect(doc.run).toBe('1');
    expect(doc.progress_msg).toBe('Task is queued...');
    expect(doc.progress).toBeGreaterThanOrEqual(0);
    expect(doc.progress).toBeLessThan(0.01);
    expect(doc.process_begin_at).not.toBeNull();
  });

  it('a PDF with zero pages queues nothing', async () => {
    const s = await seedDocument(t.db, { type: 'pdf', pages: 0, kbName: 'empty' });
    expect(s.tasks).toEqual([]);
  });

  it('insertTasks upserts by id', async () => {
    const s = await seedDocument(t.db, { kbName: 'upsert' });
    const q = s.tasks[0]!;
    await t.db.insertTasks([{ id: q.id, doc_id: q.doc_id, progress: 0, from_page: 0, to_page: 5, digest: 'd2', priority: 1, task_type: '' }]);
    expect(await t.db.getTask(q.id)).toMatchObject({ to_page: 5, digest: 'd2', priority: 1 });
    expect(await t.query('SELECT id FROM task WHERE id = ?', [q.id])).toHaveLength(1);
  });

  it('beginToParse leaves cancelled documents alone', async () => {
    const s = await seedDocument(t.db, { kbName: 'begin' });
    await t.raw.query("UPDATE document SET run = '2', progress_msg = 'stopped' WHERE id = ?", [s.doc.id]);
    expect(await t.db.beginToParse(s.doc.id)).toBe(false);
    expect(await t.db.getDocument(s.doc.id)).toMatchObject({ run: '2', progress_msg: 'stopped' });
  });
});

describe('reads', () => {
  it('listTasks by state and knowledge base, documentProgress, unfinishedTasks', async () => {
    const s = await seedDocument(t.db, { type: 'pdf', pages: 48, kbName: 'reads' }); // 4 tasks
    const [queued, running, done, failed] = s.tasks;
    await t.db.receiveTask(running!.id);
    await t.db.applyProgress([{ taskId: running!.id, progress: 0.4 }]);
    await t.db.completeTask(done!.id, { chunks: 1, tokens: 1 });
    await t.db.failTask(failed!.id, 'nope');

    const byState = async (state: 'running' | 'done' | 'failed' | 'queued') =>
      (await t.db.listTasks({ state, kbId: s.kb.id })).map((x) => x.id);
    expect(await byState('queued')).toEqual([queued!.id]);
    expect(await byState('running')).toEqual([running!.id]);
    expect(await byState('done')).toEqual([done!.id]);
    expect(await byState('failed')).toEqual([failed!.id]);
    const all = await t.db.listTasks({ kbId: s.kb.id, limit: 2 });
    expect(all).toHaveLength(2);
    expect(all[0]).toMatchObject({ kb_id: s.kb.id, doc_name: 'paper.pdf' });
    expect(all[0]).not.toHaveProperty('chunk_ids');

    const [p] = await t.db.documentProgress([s.doc.id, 'missing']);
    expect(p).toMatchObject({ id: s.doc.id, kb_id: s.kb.id, run: '4', progress: -1, chunk_num: 1 });

    const recent = (await t.db.unfinishedTasks(60_000)).map((x) => x.id);
    expect(recent).not.toContain(queued!.id);
    await t.raw.query('UPDATE task SET update_time = update_time - 120000 WHERE id IN (?)', [[queued!.id, running!.id, done!.id]]);
    const stale = (await t.db.unfinishedTasks(60_000)).map((x) => x.id);
    expect(stale).toContain(queued!.id);
    expect(stale).toContain(running!.id);
    expect(stale).not.toContain(done!.id);
    expect(stale).not.toContain(failed!.id);
  });

  it('get* return null for unknown ids', async () => {
    expect(await t.db.getTask('x')).toBeNull();
    expect(await t.db.getDocument('x')).toBeNull();
    expect(await t.db.getKnowledgebase('x')).toBeNull();
    expect(await t.db.chunkingConfig('x')).toBeNull();
    expect(await t.db.getStorageAddress('x')).toBeNull();
  });
});
