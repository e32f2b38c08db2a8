import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DocumentBusyError, REUSED_MESSAGE, deleteDocumentRows, documentTaskIds, planReparse, type TaskDb } from '../src/index.js';
import { freshDb, seedDocument, type TestDb } from './helpers.js';

let t: TestDb;
beforeEach(async () => {
  t = await freshDb();
});
afterEach(async () => {
  await t?.cleanup();
});

/** What the monitor does when the indexer reports a task's batches and its completion. */
async function finish(db: TaskDb, taskId: string, chunkIds: string[], tokens: number): Promise<void> {
  await db.recordIndexedBatch(taskId, 0, chunkIds, tokens);
  await db.completeTask(taskId, { chunks: chunkIds.length, tokens });
}

async function counters(docId: string, kbId: string) {
  const [doc] = await t.query<{ chunk_num: number; token_num: number }>('SELECT chunk_num, token_num FROM document WHERE id = ?', [docId]);
  const [kb] = await t.query<{ chunk_num: number; token_num: number; doc_num: number }>('SELECT chunk_num, token_num, doc_num FROM knowledgebase WHERE id = ?', [kbId]);
  return { doc, kb };
}

describe('planReparse (RAGFlow run action: queue_tasks with reuse_prev_task_chunks)', () => {
  it('reuses the chunks of identical finished tasks and queues nothing for them; counters unchanged', async () => {
    // a 30-page PDF: three tasks (12 pages each)
    const s = await seedDocument(t.db, { type: 'pdf', pages: 30 });
    expect(s.tasks).toHaveLength(3);
    for (const [i, task] of s.tasks.entries()) await finish(t.db, task.id, [`c${i}a`, `c${i}b`], 10 * (i + 1));
    expect((await counters(s.doc.id, s.kb.id)).doc).toMatchObject({ chunk_num: 6, token_num: 60 });

    const plan = await planReparse(t.db, s.doc.id, { pages: 30 });
    expect(plan.queue).toEqual([]);
    expect(plan.reusedTasks).toHaveLength(3);
    expect(plan.reusedChunks).toBe(6);
    expect(plan.staleChunkIds).toEqual([]);
    const tasks = await t.query<{ id: string; progress: number; chunk_ids: string; progress_msg: string }>('SELECT id, progress, chunk_ids, progress_msg FROM task WHERE doc_id = ?', [s.doc.id]);
    expect(tasks.map((x) => x.id).sort()).toEqual([...plan.reusedTasks].sort());
    // new task ids (RAGFlow's are new per parse), each done with its predecessor's chunks
    for (const x of tasks) {
      expect(s.tasks.map((o) => o.id)).not.toContain(x.id);
      expect(x.progress).toBe(1);
      expect(x.progress_msg).toContain(REUSED_MESSAGE);
    }
    expect(tasks.flatMap((x) => x.chunk_ids.split(' ')).sort()).toEqual(['c0a', 'c0b', 'c1a', 'c1b', 'c2a', 'c2b']);
    expect(await counters(s.doc.id, s.kb.id)).toMatchObject({ doc: { chunk_num: 6, token_num: 60 }, kb: { chunk_num: 6, token_num: 60 } });
    // a stray completion of a reused task counts nothing again
    expect(await t.db.completeTask(plan.reusedTasks[0]!, { chunks: 2, tokens: 10 })).toBe(false);
  });

  it('a changed parser config re-queues every task, returns the old chunks as stale and takes the old counts off', async () => {
    const s = await seedDocument(t.db, { type: 'pdf', pages: 20 });
    for (const [i, task] of s.tasks.entries()) await finish(t.db, task.id, [`o${i}`], 7);
    await t.query(`UPDATE document SET parser_config = ? WHERE id = ?`, [JSON.stringify({ chunk_token_num: 64, delimiter: '\n' }), s.doc.id]);

    const plan = await planReparse(t.db, s.doc.id, { pages: 20 });
    expect(plan.queue).toHaveLength(2);
    expect(plan.reusedTasks).toEqual([]);
    expect(plan.staleChunkIds.sort()).toEqual(['o0', 'o1']);
    expect(await counters(s.doc.id, s.kb.id)).toMatchObject({ doc: { chunk_num: 0, token_num: 0 }, kb: { chunk_num: 0, token_num: 0, doc_num: 1 } });
    expect(await documentTaskIds(t.db, s.doc.id)).toEqual(expect.arrayContaining(plan.queue.map((q) => q.id)));
    // the new tasks complete: exact counts again
    await finish(t.db, plan.queue[0]!.id, ['n0', 'n1'], 5);
    await finish(t.db, plan.queue[1]!.id, ['n2'], 3);
    expect(await counters(s.doc.id, s.kb.id)).toMatchObject({ doc: { chunk_num: 3, token_num: 8 }, kb: { chunk_num: 3, token_num: 8 } });
  });

  it('parses a cancelled document again: run 1, new task ids, so no stale cancel reaches them (RAGFlow #17708)', async () => {
    const s = await seedDocument(t.db, { type: 'pdf', pages: 10 });
    // RAGFlow's cancel: the task fails as cancelled, the document is left at run 2
    await t.db.applyProgress([{ taskId: s.tasks[0]!.id, progress: -1, msg: 'Task has been cancelled. [Canceled]' }]);
    await t.query("UPDATE document SET run = '2' WHERE id = ?", [s.doc.id]);
    const plan = await planReparse(t.db, s.doc.id, { pages: 10 });
    expect(plan.queue).toHaveLength(1);
    expect(plan.queue[0]!.id).not.toBe(s.tasks[0]!.id);
    const [doc] = await t.query<{ run: string }>('SELECT run FROM document WHERE id = ?', [s.doc.id]);
    expect(doc!.run).toBe('1');
    // the bridge takes the new task (a cancelled document's tasks are dropped)
    expect((await t.db.receiveTask(plan.queue[0]!.id)).status).toBe('ok');
  });

  it('refuses while the document is being parsed, naming it', async () => {
    const s = await seedDocument(t.db, { type: 'pdf', pages: 20 });
    await finish(t.db, s.tasks[0]!.id, ['a'], 1);
    const err = await planReparse(t.db, s.doc.id, { pages: 20 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DocumentBusyError);
    expect((err as Error).message).toContain(s.doc.id);
    expect((err as DocumentBusyError).retryable).toBe(false);
    // nothing changed
    expect(await documentTaskIds(t.db, s.doc.id)).toHaveLength(2);
  });
});

describe('deleteDocumentRows (RAGFlow delete_document_and_update_kb_counts)', () => {
  it('removes the document and its tasks and takes its counts and one doc_num off the knowledge base', async () => {
    const a = await seedDocument(t.db, { type: 'pdf', pages: 10 });
    const b = await seedDocument(t.db, { type: 'pdf', pages: 10 });
    await finish(t.db, a.tasks[0]!.id, ['a1', 'a2'], 11);
    await finish(t.db, b.tasks[0]!.id, ['b1'], 4);
    expect((await counters(a.doc.id, a.kb.id)).kb).toMatchObject({ chunk_num: 3, token_num: 15, doc_num: 2 });

    const deleted = await deleteDocumentRows(t.db, a.doc.id);
    expect(deleted).toMatchObject({ docId: a.doc.id, kbId: a.kb.id, tenantId: a.tenantId, bucket: a.kb.id, name: 'paper.pdf', taskIds: [a.tasks[0]!.id] });
    expect(await t.query('SELECT id FROM document WHERE id = ?', [a.doc.id])).toEqual([]);
    expect(await t.query('SELECT id FROM task WHERE doc_id = ?', [a.doc.id])).toEqual([]);
    expect((await counters(b.doc.id, b.kb.id)).kb).toMatchObject({ chunk_num: 1, token_num: 4, doc_num: 1 });
    // a completion of a deleted task that arrives late counts nothing
    expect(await t.db.completeTask(a.tasks[0]!.id, { chunks: 2, tokens: 11 })).toBe(false);
    expect(await deleteDocumentRows(t.db, a.doc.id)).toBeNull();
    expect((await counters(b.doc.id, b.kb.id)).kb).toMatchObject({ doc_num: 1 });
  });
});
