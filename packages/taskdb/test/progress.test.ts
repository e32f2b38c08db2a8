import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clockTime, newId } from '../src/index.js';
import { createConnection } from 'mysql2/promise';
import { MYSQL, freshDb, seedDocument, type TestDb } from './helpers.js';

let t: TestDb;
beforeAll(async () => {
  t = await freshDb();
});
afterAll(async () => {
  await t?.cleanup();
});

describe('applyProgress', () => {
  it('progress is monotonic and -1 is sticky except for a later >= 1', async () => {
    const s = await seedDocument(t.db);
    const id = s.tasks[0]!.id;
    await t.db.receiveTask(id);
    await t.db.applyProgress([{ taskId: id, progress: 0.5 }]);
    await t.db.applyProgress([{ taskId: id, progress: 0.3, msg: 'late' }]);
    expect((await t.db.getTask(id))!.progress).toBe(0.5);
    await t.db.applyProgress([{ taskId: id, progress: -1, msg: 'bad' }]);
    await t.db.applyProgress([{ taskId: id, progress: 0.9 }]);
    expect((await t.db.getTask(id))!.progress).toBe(-1);
    await t.db.applyProgress([{ taskId: id, progress: 1 }]);
    expect((await t.db.getTask(id))!.progress).toBe(1);
  });

  it('formats lines with time, page range and [ERROR]; a failure fails the document with the task log', async () => {
    const s = await seedDocument(t.db, { type: 'pdf', pages: 30 });
    const [t0] = s.tasks;
    const at = new Date(2026, 0, 2, 3, 4, 5);
    await t.db.applyProgress([
      { taskId: t0!.id, msg: 'OCR started', pageRange: { from: 12, to: 24 }, progress: 0.2, at },
      { taskId: t0!.id, msg: 'no range', at },
      { taskId: t0!.id, msg: 'exploded', progress: -1, pageRange: { from: 12, to: 24 }, at },
    ]);
    const row = (await t.db.getTask(t0!.id))!;
    expect(row.progress).toBe(-1);
    expect(row.progress_msg.endsWith('\n03:04:05 Page(13~24): OCR started\n03:04:05 no range\n03:04:05 Page(13~24): [ERROR]exploded')).toBe(true);
    const doc = (await t.db.getDocument(s.doc.id))!;
    expect(doc.progress).toBe(-1);
    expect(doc.run).toBe('4');
    expect(doc.progress_msg).toBe(row.progress_msg);
  });

  it('does not touch a cancelled document on failure', async () => {
    const s = await seedDocument(t.db);
    await t.raw.query("UPDATE document SET run = '2', progress_msg = 'cancelled by user' WHERE id = ?", [s.doc.id]);
    await t.db.failTask(s.tasks[0]!.id, 'x');
    const doc = (await t.db.getDocument(s.doc.id))!;
    expect(doc).toMatchObject({ run: '2', progress_msg: 'cancelled by user' });
  });

  it('keeps the last 3000 characters, cut at a line start', async () => {
    const s = await seedDocument(t.db);
    const id = s.tasks[0]!.id;
    const updates = Array.from({ length: 150 }, (_, i) => ({ taskId: id, msg: `message number ${String(i).padStart(3, '0')} ${'x'.repeat(20)}` }));
    await t.db.applyProgress(updates);
    const msg = (await t.db.getTask(id))!.progress_msg;
    expect(msg.length).toBeLessThanOrEqual(3000);
    expect(msg.length).toBeGreaterThan(2900);
    expect(msg).toMatch(/^\d\d:\d\d:\d\d message number \d{3} x+\n/);
    expect(msg.endsWith(`message number 149 ${'x'.repeat(20)}`)).toBe(true);
  });

  it('applies many updates for several tasks in one call, one write per task', async () => {
    const s = await seedDocument(t.db, { type: 'pdf', pages: 60, kbName: 'batch' }); // 5 tasks
    expect(s.tasks).toHaveLength(5);
    const unknown = newId();
    const updates = [];
    for (let i = 1; i <= 40; i++) {
      for (const task of s.tasks) updates.push({ taskId: task.id, progress: i / 50, msg: `step ${i}` });
    }
    updates.push({ taskId: unknown, progress: 0.5, msg: 'ghost' });
    const res = await t.db.applyProgress(updates);
    expect(res.unknown).toEqual([unknown]);
    for (const task of s.tasks) {
      const row = (await t.db.getTask(task.id))!;
      expect(row.progress).toBeCloseTo(0.8, 5);
      expect(row.progress_msg.split('\n').filter((l) => / step \d+$/.test(l))).toHaveLength(40);
      expect(row.progress_msg.endsWith(' step 40')).toBe(true);
    }
  });

  it('updates process_duration from begin_at', async () => {
    const s = await seedDocument(t.db);
    const id = s.tasks[0]!.id;
    await t.raw.query('UPDATE task SET begin_at = NOW() - INTERVAL 5 SECOND WHERE id = ?', [id]);
    await t.db.applyProgress([{ taskId: id, progress: 0.2, msg: 'x' }]);
    const d = (await t.db.getTask(id))!.process_duration;
    expect(d).toBeGreaterThanOrEqual(5);
    expect(d).toBeLessThan(60);
  });

  it('uses the local clock of `at`', async () => {
    const s = await seedDocument(t.db);
    const at = new Date();
    await t.db.applyProgress([{ taskId: s.tasks[0]!.id, msg: 'now', at }]);
    expect((await t.db.getTask(s.tasks[0]!.id))!.progress_msg.endsWith(`${clockTime(at)} now`)).toBe(true);
  });
});

describe('syncDocuments', () => {
  it('running: mean progress with failures counted as 0, sorted messages', async () => {
    const s = await seedDocument(t.db, { type: 'pdf', pages: 36, kbName: 'sync1' }); // 3 tasks
    const [a, b, c] = s.tasks;
    await t.raw.query("UPDATE task SET progress = 0.5, progress_msg = 'b-msg' WHERE id = ?", [a!.id]);
    await t.raw.query("UPDATE task SET progress = 1, progress_msg = 'a-msg' WHERE id = ?", [b!.id]);
    await t.raw.query("UPDATE task SET progress = -1, progress_msg = '' WHERE id = ?", [c!.id]);
    expect(await t.db.syncDocuments([s.doc.id])).toBe(1);
    const doc = (await t.db.getDocument(s.doc.id))!;
    expect(doc.run).toBe('1');
    expect(doc.progress).toBeCloseTo(0.5, 5);
    expect(doc.progress_msg).toBe('a-msg\nb-msg');
    expect(doc.process_duration).toBeGreaterThanOrEqual(0);
  });

  it('finished: done, or failed when any task failed', async () => {
    const ok = await seedDocument(t.db, { type: 'pdf', pages: 24, kbName: 'sync2' });
    await t.raw.query("UPDATE task SET progress = 1, progress_msg = 'done' WHERE doc_id = ?", [ok.doc.id]);
    const bad = await seedDocument(t.db, { type: 'pdf', pages: 24, kbName: 'sync2' });
    await t.raw.query("UPDATE task SET progress = 1, progress_msg = 'done' WHERE doc_id = ?", [bad.doc.id]);
    await t.raw.query('UPDATE task SET progress = -1 WHERE id = ?', [bad.tasks[1]!.id]);
    await t.db.syncDocuments([ok.doc.id, bad.doc.id]);
    expect(await t.db.getDocument(ok.doc.id)).toMatchObject({ run: '3', progress: 1 });
    expect(await t.db.getDocument(bad.doc.id)).toMatchObject({ run: '4', progress: -1 });
  });

  it('skips cancelled documents and, without ids, finds unfinished ones', async () => {
    const cancelled = await seedDocument(t.db, { kbName: 'sync3' });
    await t.raw.query("UPDATE document SET run = '2', progress = 0 WHERE id = ?", [cancelled.doc.id]);
    await t.raw.query("UPDATE task SET progress = 0.4, progress_msg = 'x' WHERE doc_id = ?", [cancelled.doc.id]);
    const running = await seedDocument(t.db, { kbName: 'sync3' });
    await t.raw.query("UPDATE task SET progress = 0.4, progress_msg = 'working' WHERE doc_id = ?", [running.doc.id]);
    const written = await t.db.syncDocuments();
    expect(written).toBeGreaterThanOrEqual(1);
    expect(await t.db.getDocument(cancelled.doc.id)).toMatchObject({ run: '2', progress: 0 });
    const doc = (await t.db.getDocument(running.doc.id))!;
    expect(doc.progress).toBeCloseTo(0.4, 5);
    expect(doc.progress_msg).toBe('working');
  });

  it('a task failed by another writer during the pass leaves the document failed, not running', async () => {
    const s = await seedDocument(t.db, { kbName: 'sync5' });
    const id = s.tasks[0]!.id;
    // another process (the bridge dropping a cancelled task) is failing the task right now
    const other = await createConnection({ ...MYSQL, database: t.database });
    try {
      await other.beginTransaction();
      await other.query('SELECT id FROM task WHERE id = ? FOR UPDATE', [id]);
      await other.query("UPDATE task SET progress = -1, progress_msg = 'cancelled' WHERE id = ?", [id]);
      await other.query("UPDATE document SET progress = -1, run = '4' WHERE id = ?", [s.doc.id]);
      // the monitor's periodic pass starts meanwhile
      const pass = t.db.syncDocuments();
      await new Promise((r) => setTimeout(r, 300));
      await other.commit();
      await pass;
    } finally {
      await other.end();
    }
    expect(await t.db.getDocument(s.doc.id)).toMatchObject({ run: '4', progress: -1 });
  });

  it('writes the queue message when tasks have none yet', async () => {
    const s = await seedDocument(t.db, { kbName: 'sync4' });
    await t.db.syncDocuments([s.doc.id], { queueAhead: () => 7 });
    expect((await t.db.getDocument(s.doc.id))!.progress_msg).toBe('7 tasks are ahead in the queue...');
  });
});
