import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ABANDON_MESSAGE, newId } from '../src/index.js';
import { freshDb, seedDocument, type TestDb } from './helpers.js';

let t: TestDb;
beforeAll(async () => {
  t = await freshDb();
});
afterAll(async () => {
  await t?.cleanup();
});

describe('receiveTask', () => {
  it('returns the joined task row, counts the delivery and logs it', async () => {
    const s = await seedDocument(t.db);
    const id = s.tasks[0]!.id;
    const r = await t.db.receiveTask(id);
    expect(r.status).toBe('ok');
    if (r.status !== 'ok') return;
    expect(r.task).toMatchObject({
      task_id: id,
      doc_id: s.doc.id,
      kb_id: s.kb.id,
      tenant_id: s.tenantId,
      task_type: '',
      from_page: 0,
      to_page: 100000000,
      priority: 0,
      retry_count: 1,
      parser_id: 'naive',
      doc_name: 'notes.txt',
      doc_type: 'doc',
      bucket: s.kb.id,
      location: 'notes.txt',
      size: 1234,
      language: 'English',
      embd_id: 'BAAI/bge-m3@Builtin',
      pagerank: 0,
      digest: s.tasks[0]!.digest,
    });
    // document parser_config over the knowledge base's
    expect(r.task.parser_config).toMatchObject({ chunk_token_num: 256, delimiter: '\n', filename_embd_weight: 0.1, pages: [[1, 1000000]] });
    expect(r.task.begin_at).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);

    const row = (await t.db.getTask(id))!;
    expect(row.retry_count).toBe(1);
    expect(row.progress).toBeGreaterThanOrEqual(0);
    expect(row.progress).toBeLessThan(0.1);
    expect(row.progress_msg).toMatch(/\n\d\d:\d\d:\d\d Task has been received\.$/);

    const again = await t.db.receiveTask(id);
    expect(again.status === 'ok' && again.task.retry_count).toBe(2);
    expect((await t.db.getTask(id))!.progress_msg.match(/Task has been received/g)).toHaveLength(2);
  });

  it("returns what the enricher needs: the tenant's llm_id and the knowledge base's own parser_config", async () => {
    const s = await seedDocument(t.db, { kbName: 'enrich-fields' });
    await t.raw.query("UPDATE tenant SET llm_id = 'qwen-plus@Tongyi-Qianwen' WHERE id = ?", [s.tenantId]);
    await t.raw.query('UPDATE knowledgebase SET parser_config = ? WHERE id = ?', [JSON.stringify({ tag_kb_ids: ['tags-kb'], topn_tags: 5, chunk_token_num: 64 }), s.kb.id]);
    await t.raw.query('UPDATE document SET parser_config = ? WHERE id = ?', [JSON.stringify({ chunk_token_num: 256, auto_keywords: 3 }), s.doc.id]);
    const r = await t.db.receiveTask(s.tasks[0]!.id);
    expect(r.status).toBe('ok');
    if (r.status !== 'ok') return;
    expect(r.task.llm_id).toBe('qwen-plus@Tongyi-Qianwen');
    // the knowledge base's config alone, where RAGFlow reads tag_kb_ids and topn_tags
    expect(r.task.kb_parser_config).toEqual({ tag_kb_ids: ['tags-kb'], topn_tags: 5, chunk_token_num: 64 });
    expect(r.task.parser_config).toMatchObject({ chunk_token_num: 256, auto_keywords: 3, tag_kb_ids: ['tags-kb'] });
    await t.raw.query("UPDATE tenant SET llm_id = '' WHERE id = ?", [s.tenantId]);
  });

  it('unknown: no task row, or a task whose document is gone', async () => {
    expect(await t.db.receiveTask(newId())).toEqual({ status: 'unknown', orphan: undefined });
    const s = await seedDocument(t.db);
    await t.raw.query('DELETE FROM document WHERE id = ?', [s.doc.id]);
    expect(await t.db.receiveTask(s.tasks[0]!.id)).toEqual({ status: 'unknown', orphan: { missing: 'document', id: s.doc.id } });
    expect((await t.db.getTask(s.tasks[0]!.id))!.retry_count).toBe(0);
  });

  it('unknown: names the missing knowledge base or tenant of an orphaned task', async () => {
    // private knowledge bases: the shared tenant and default knowledge base stay intact for other tests
    const a = await seedDocument(t.db, { kbName: 'orphaned-by-kb' });
    await t.raw.query('DELETE FROM knowledgebase WHERE id = ?', [a.kb.id]);
    expect(await t.db.receiveTask(a.tasks[0]!.id)).toEqual({ status: 'unknown', orphan: { missing: 'knowledgebase', id: a.kb.id } });
    const b = await seedDocument(t.db, { kbName: 'orphaned-by-tenant' });
    await t.raw.query("UPDATE knowledgebase SET tenant_id = 'tenant-that-is-gone' WHERE id = ?", [b.kb.id]);
    expect(await t.db.receiveTask(b.tasks[0]!.id)).toEqual({ status: 'unknown', orphan: { missing: 'tenant', id: 'tenant-that-is-gone' } });
  });

  it('done: a duplicate delivery of a finished task changes nothing', async () => {
    const s = await seedDocument(t.db);
    const id = s.tasks[0]!.id;
    await t.raw.query("UPDATE task SET progress = 1, progress_msg = 'finished' WHERE id = ?", [id]);
    expect(await t.db.receiveTask(id)).toEqual({ status: 'done' });
    const row = (await t.db.getTask(id))!;
    expect(row).toMatchObject({ progress: 1, progress_msg: 'finished', retry_count: 0 });
  });

  it('cancelled: document run = 2', async () => {
    const s = await seedDocument(t.db);
    await t.raw.query("UPDATE document SET run = '2' WHERE id = ?", [s.doc.id]);
    expect(await t.db.receiveTask(s.tasks[0]!.id)).toEqual({ status: 'cancelled' });
    expect((await t.db.getTask(s.tasks[0]!.id))!.retry_count).toBe(0);
  });

  it('failed tasks are left alone unless retryFailed', async () => {
    const s = await seedDocument(t.db);
    const id = s.tasks[0]!.id;
    await t.db.failTask(id, 'broken');
    expect(await t.db.receiveTask(id)).toEqual({ status: 'failed' });
    expect((await t.db.getTask(id))!.progress).toBe(-1);
    const r = await t.db.receiveTask(id, { retryFailed: true });
    expect(r.status).toBe('ok');
    expect((await t.db.getTask(id))!.progress).toBeGreaterThanOrEqual(0);
  });

  it('abandons at the 4th delivery (retry_count 3) and fails the document', async () => {
    const s = await seedDocument(t.db);
    const id = s.tasks[0]!.id;
    for (let i = 1; i <= 3; i++) {
      const r = await t.db.receiveTask(id);
      expect(r.status === 'ok' && r.task.retry_count).toBe(i);
    }
    const r = await t.db.receiveTask(id);
    expect(r).toEqual({ status: 'abandoned', message: ABANDON_MESSAGE(3) });
    const row = (await t.db.getTask(id))!;
    expect(row.progress).toBe(-1);
    expect(row.retry_count).toBe(4);
    expect(row.progress_msg.endsWith('\nERROR: Task is abandoned after 3 times attempts.')).toBe(true);
    const doc = (await t.db.getDocument(s.doc.id))!;
    expect(doc.progress).toBe(-1);
    expect(doc.run).toBe('4');
  });

  it('resolves file-manager uploads to the folder bucket (get_storage_address)', async () => {
    const s = await seedDocument(t.db);
    await t.raw.query(
      "INSERT INTO file (id, parent_id, tenant_id, created_by, name, location, size, type, source_type) VALUES ('f1', 'folder1', ?, ?, 'notes.txt', 'stored/notes.txt', 1, 'doc', '')",
      [s.tenantId, s.tenantId],
    );
    await t.raw.query("INSERT INTO file2document (id, file_id, document_id) VALUES ('fd1', 'f1', ?)", [s.doc.id]);
    const r = await t.db.receiveTask(s.tasks[0]!.id);
    expect(r.status === 'ok' && { bucket: r.task.bucket, location: r.task.location }).toEqual({ bucket: 'folder1', location: 'stored/notes.txt' });
    expect(await t.db.getStorageAddress(s.doc.id)).toEqual({ bucket: 'folder1', name: 'stored/notes.txt' });
  });

  it('concurrent deliveries of one task are serialised by the row lock', async () => {
    const s = await seedDocument(t.db);
    const results = await Promise.all([1, 2, 3].map(() => t.db.receiveTask(s.tasks[0]!.id)));
    const counts = results.map((r) => (r.status === 'ok' ? r.task.retry_count : -1)).sort();
    expect(counts).toEqual([1, 2, 3]);
  });
});
