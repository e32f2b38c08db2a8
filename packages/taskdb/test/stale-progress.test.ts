import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { freshDb, seedDocument, type TestDb } from './helpers.js';

let t: TestDb;
beforeEach(async () => {
  t = await freshDb();
});
afterEach(async () => {
  await t?.cleanup();
});

describe('applyProgress after completion (RAGFlow #18381: a stale copy of the work on another replica)', () => {
  it('adds no line and changes nothing once the task is done', async () => {
    const s = await seedDocument(t.db);
    const id = s.tasks[0]!.id;
    await t.db.applyProgress([{ taskId: id, progress: 0.1, msg: 'Start to parse.' }]);
    await t.db.recordIndexedBatch(id, 0, ['a', 'b'], 4);
    expect(await t.db.completeTask(id, { chunks: 2, tokens: 4 })).toBe(true);
    const done = (await t.db.getTask(id))!;
    // the late replica reports its start and its parse again
    await t.db.applyProgress([
      { taskId: id, progress: 0.1, msg: 'Start to parse.' },
      { taskId: id, progress: 0.3, msg: 'Parsed 2 chunks.' },
    ]);
    const after = (await t.db.getTask(id))!;
    expect(after.progress).toBe(1);
    expect(after.progress_msg).toBe(done.progress_msg);
    expect(after.progress_msg.trim().split('\n').pop()).toMatch(/Task done/);
  });

  it('still appends to unfinished and failed tasks', async () => {
    const s = await seedDocument(t.db);
    const id = s.tasks[0]!.id;
    await t.db.applyProgress([{ taskId: id, progress: -1, msg: 'parser failed: boom' }]);
    await t.db.applyProgress([{ taskId: id, msg: 'Task has been cancelled. [Canceled]' }]);
    expect((await t.db.getTask(id))!.progress_msg).toMatch(/boom[\s\S]*Canceled/);
  });
});
