import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../src/index.js';
import { freshDb, seedDocument, type TestDb } from './helpers.js';

let t: TestDb;
beforeAll(async () => {
  t = await freshDb();
});
afterAll(async () => {
  await t?.cleanup();
});

const ids = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${String(i).padStart(15 - prefix.length, '0')}`);

describe('recordIndexedBatch', () => {
  it('is idempotent per (task, batch) and appends ids to task.chunk_ids once', async () => {
    const s = await seedDocument(t.db);
    const id = s.tasks[0]!.id;
    expect(await t.db.recordIndexedBatch(id, 0, ids('a', 3), 30)).toBe(true);
    expect(await t.db.recordIndexedBatch(id, 0, ids('a', 3), 30)).toBe(false);
    expect(await t.db.recordIndexedBatch(id, 1, ids('b', 2), 20)).toBe(true);
    const rows = await t.query<{ batch_no: number; chunk_count: number; token_count: number }>(
      'SELECT batch_no, chunk_count, token_count FROM ragline_task_batch WHERE task_id = ? ORDER BY batch_no',
      [id],
    );
    expect(rows).toEqual([
      { batch_no: 0, chunk_count: 3, token_count: 30 },
      { batch_no: 1, chunk_count: 2, token_count: 20 },
    ]);
    expect((await t.db.getTask(id))!.chunk_ids.split(' ')).toEqual([...ids('a', 3), ...ids('b', 2)]);
  });

  it('concurrent duplicates insert once', async () => {
    const s = await seedDocument(t.db);
    const res = await Promise.all([1, 2, 3, 4].map(() => t.db.recordIndexedBatch(s.tasks[0]!.id, 7, ids('c', 2), 5)));
    expect(res.filter(Boolean)).toHaveLength(1);
    expect((await t.db.getTask(s.tasks[0]!.id))!.chunk_ids.split(' ')).toHaveLength(2);
  });
});

describe('completeTask', () => {
  it('completes exactly once under concurrency; counts once; chunk_ids in batch order', async () => {
    const s = await seedDocument(t.db, { kbName: 'complete' });
    const id = s.tasks[0]!.id;
    await t.db.receiveTask(id);
    // batches land out of order
    await t.db.recordIndexedBatch(id, 2, ids('z', 2), 7);
    await t.db.recordIndexedBatch(id, 0, ids('x', 3), 10);
    await t.db.recordIndexedBatch(id, 1, ids('y', 1), 5);
    const kbBefore = (await t.db.getKnowledgebase(s.kb.id))!;

    const results = await Promise.all([1, 2, 3, 4, 5].map(() => t.db.completeTask(id, { chunks: 6, tokens: 22, durationMs: 1234 })));
    expect(results.filter((r) => r === true)).toHaveLength(1);
    expect(await t.db.completeTask(id, { chunks: 6, tokens: 22 })).toBe(false);

    const task = (await t.db.getTask(id))!;
    expect(task.progress).toBe(1);
    expect(task.chunk_ids).toBe([...ids('x', 3), ...ids('y', 1), ...ids('z', 2)].join(' '));
    expect(task.process_duration).toBeCloseTo(1.234, 3);
    expect(task.progress_msg).toMatch(/\n\d\d:\d\d:\d\d Page\(1~100000000\): Task done \(1\.23s\)$/);
    expect(task.progress_msg.match(/Task done/g)).toHaveLength(1);

    const doc = (await t.db.getDocument(s.doc.id))!;
    expect(doc).toMatchObject({ chunk_num: 6, token_num: 22 });
    const kb = (await t.db.getKnowledgebase(s.kb.id))!;
    expect(kb.chunk_num - kbBefore.chunk_num).toBe(6);
    expect(kb.token_num - kbBefore.token_num).toBe(22);
    const [completion] = await t.query<{ chunks: number; tokens: number }>('SELECT chunks, tokens FROM ragline_task_completion WHERE task_id = ?', [id]);
    expect(completion).toEqual({ chunks: 6, tokens: 22 });
  });

  it('sums tasks of one document; custom message; duration from begin_at by default', async () => {
    const s = await seedDocument(t.db, { type: 'pdf', pages: 20, kbName: 'two' });
    const [a, b] = s.tasks;
    await t.raw.query('UPDATE task SET begin_at = NOW() - INTERVAL 3 SECOND WHERE id = ?', [a!.id]);
    expect(await t.db.completeTask(a!.id, { chunks: 4, tokens: 40 })).toBe(true);
    expect(await t.db.completeTask(b!.id, { chunks: 1, tokens: 9, msg: 'Indexing done (0.50s).' })).toBe(true);
    expect(await t.db.getDocument(s.doc.id)).toMatchObject({ chunk_num: 5, token_num: 49 });
    expect(await t.db.getKnowledgebase(s.kb.id)).toMatchObject({ chunk_num: 5, token_num: 49 });
    const ta = (await t.db.getTask(a!.id))!;
    expect(ta.process_duration).toBeGreaterThanOrEqual(3);
    expect(ta.progress_msg).toMatch(/Page\(1~12\): Task done \(\d+\.\d\ds\)$/);
    expect((await t.db.getTask(b!.id))!.progress_msg).toMatch(/Page\(13~20\): Indexing done \(0\.50s\)\.$/);
    await t.db.syncDocuments([s.doc.id]);
    expect(await t.db.getDocument(s.doc.id)).toMatchObject({ run: '3', progress: 1 });
  });

  it('unknown task: false, nothing recorded', async () => {
    const id = newId();
    expect(await t.db.completeTask(id, { chunks: 1, tokens: 1 })).toBe(false);
    expect(await t.query('SELECT 1 FROM ragline_task_completion WHERE task_id = ?', [id])).toHaveLength(0);
  });

  it('a cancelled document is not counted', async () => {
    const s = await seedDocument(t.db, { kbName: 'cancel' });
    await t.raw.query("UPDATE document SET run = '2' WHERE id = ?", [s.doc.id]);
    expect(await t.db.completeTask(s.tasks[0]!.id, { chunks: 3, tokens: 3 })).toBe(false);
    expect(await t.db.getDocument(s.doc.id)).toMatchObject({ chunk_num: 0, token_num: 0 });
  });

  it('completion and progress writers running together do not deadlock', async () => {
    const s = await seedDocument(t.db, { type: 'pdf', pages: 48, kbName: 'mixed' }); // 4 tasks
    const work: Promise<unknown>[] = [];
    for (const task of s.tasks) {
      work.push(t.db.recordIndexedBatch(task.id, 0, ids('m', 2), 2));
      work.push(t.db.applyProgress(s.tasks.map((x) => ({ taskId: x.id, progress: 0.5, msg: 'm' }))));
      work.push(t.db.completeTask(task.id, { chunks: 2, tokens: 2 }));
    }
    await Promise.all(work);
    expect(await t.db.getDocument(s.doc.id)).toMatchObject({ chunk_num: 8, token_num: 8 });
    for (const task of s.tasks) expect((await t.db.getTask(task.id))!.progress).toBe(1);
  });
});
