import type { BatchItem } from '@ragline/bus';
import { PipelineEvent, type TaskContext } from '@ragline/contracts';
import type { DocStore } from '@ragline/docstore';
import { cancelTask } from '@ragline/redis-queue';
import type { KnowledgebaseRow, TaskDb } from '@ragline/taskdb';
import { dropDatabase } from '@ragline/taskdb/testing';
import { tokenize } from '@ragline/parsing';
import { ROOT_CONTEXT } from '@ragline/telemetry';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createProgressWriter, upsertFailure, type IndexerTaskState } from '../src/index.js';
import { EMBD_ID, logger, openStageWorld, openTaskDb, seedDocumentTask, type StageWorld, embeddedBatch, indexerFor, manifestFor } from './support/stage-env.js';

const TEXTS = [
  ['Harbour cranes lift containers.', 'Tugboats guide tankers in.'],
  ['Pilots board at the breakwater.', 'Customs officers check manifests.', 'Dockers secure the lashings.'],
  ['Gulls circle the fish market.'],
];

let w: StageWorld;
beforeEach(async () => {
  w = await openStageWorld();
});
afterEach(async () => {
  await w?.cleanup();
});

const indexer = (docstore?: DocStore) => indexerFor(w, docstore ? { docstore } : {});

async function events() {
  return (await w.read(w.names.streams.events, w.names.consumers.monitorEvents, PipelineEvent)).map((e) => e.msg);
}

const countDoc = (task: TaskContext) => w.docstore.count(task.tenant_id, { doc_id: task.doc_id });

describe('indexer cancellation', () => {
  it('writes no batch that arrives after the cancel, even once the Redis flag has expired', async () => {
    const task = w.task('port.txt');
    const batches = await Promise.all(TEXTS.map((t, i) => embeddedBatch(task, i, t)));
    const handle = indexer();
    await handle(batches[0]!, w.ctx());
    expect(await countDoc(task)).toBe(2);

    await cancelTask(w.redis, task.task_id);
    await handle(batches[1]!, w.ctx());
    expect(await countDoc(task)).toBe(0);
    const state = (await w.taskState.get(task.task_id)) as IndexerTaskState;
    expect(state.cancelledAt).toEqual(expect.any(Number));

    // RAGFlow's flag lives an hour; the task state remembers the cancel beyond that
    await w.redis.del(`${task.task_id}-cancel`);
    await handle(batches[2]!, w.ctx());
    await handle(batches[1]!, w.ctx());
    await handle(manifestFor(task, 3, 6), w.ctx());
    expect(await countDoc(task)).toBe(0);
    expect((await w.taskState.get(task.task_id)).batches).toEqual([0]);

    const evs = (await events()).filter((e) => e.task_id === task.task_id);
    expect(evs.filter((e) => e.kind === 'completed')).toHaveLength(0);
    expect(evs.filter((e) => e.kind === 'progress').map((e) => e.progress)).toEqual([-1]);
    expect(evs.filter((e) => e.kind === 'batch_indexed').map((e) => e.kind === 'batch_indexed' && e.batch_no)).toEqual([0]);
  });

  it('takes a batch out again when the cancel lands while it is being written', async () => {
    const task = w.task('port.txt');
    const [b0, b1] = await Promise.all([embeddedBatch(task, 0, TEXTS[0]!), embeddedBatch(task, 1, TEXTS[1]!)]);
    const handle = indexer();
    await handle(b0, w.ctx());
    // the real store, with the user's cancel arriving just as the bulk returns
    const racing: DocStore = Object.create(w.docstore, {
      upsert: {
        value: async (...args: Parameters<DocStore['upsert']>) => {
          const r = await w.docstore.upsert(...args);
          await cancelTask(w.redis, task.task_id);
          return r;
        },
      },
    }) as DocStore;
    await indexer(racing)(b1, w.ctx());
    expect(await countDoc(task)).toBe(0);
    expect((await w.taskState.get(task.task_id)).batches).toEqual([0]);
  });

  it('a cancel handled twice removes and reports once, leaving a newer task of the document alone', async () => {
    const task = w.task('port.txt');
    const handle = indexer();
    await handle(await embeddedBatch(task, 0, TEXTS[0]!), w.ctx());
    await cancelTask(w.redis, task.task_id);
    await handle(manifestFor(task, 1, 2), w.ctx());
    // the document is parsed again by a new task (new id) while the old one's messages drain
    const next = { ...task, task_id: w.task('x').task_id };
    await handle(await embeddedBatch(next, 0, TEXTS[2]!), w.ctx());
    await handle(await embeddedBatch(task, 0, TEXTS[0]!), w.ctx());
    expect(await countDoc(task)).toBe(1);
    const progress = (await events()).filter((e) => e.kind === 'progress');
    expect(progress).toHaveLength(1);
    expect(progress[0]).toMatchObject({ task_id: task.task_id, progress: -1, msg: 'Task has been cancelled; removed 2 indexed chunks. [Canceled]' });
  });
});

describe('indexer idempotency', () => {
  it('does not resurrect chunks of a completed task after RAGFlow deleted them for a re-parse', async () => {
    const task = w.task('port.txt');
    const batches = await Promise.all(TEXTS.map((t, i) => embeddedBatch(task, i, t)));
    const handle = indexer();
    for (const m of [...batches, manifestFor(task, 3, 6)]) await handle(m, w.ctx());
    expect(await countDoc(task)).toBe(6);

    // RAGFlow's re-parse: delete the document's chunks and task rows, queue tasks with new ids
    await w.docstore.deleteByDoc(task.tenant_id, task.kb_id, task.doc_id);
    await handle(batches[1]!, w.ctx()); // a late redelivery of the old task
    await handle(manifestFor(task, 3, 6), w.ctx());
    expect(await countDoc(task)).toBe(0);

    const again = { ...task, task_id: w.task('x').task_id };
    const fresh = await Promise.all(TEXTS.map((t, i) => embeddedBatch(again, i, t)));
    for (const m of [manifestFor(again, 3, 6), ...fresh]) await handle(m, w.ctx());
    expect(await countDoc(task)).toBe(6);
    const completed = (await events()).filter((e) => e.kind === 'completed');
    expect(completed.map((e) => e.task_id)).toEqual([task.task_id, again.task_id]);
  });

  it('a batch already recorded is not written again, but its event and the completion still go out', async () => {
    const task = w.task('port.txt');
    const b0 = await embeddedBatch(task, 0, TEXTS[0]!);
    const handle = indexer();
    await handle(manifestFor(task, 1, 2), w.ctx());
    // as if a replica recorded the batch and died before publishing its event; the store is left
    // empty here so that a rewrite would show
    await w.taskState.recordBatch(task.task_id, 0, b0.chunks.length, b0.tokens);
    await handle(b0, w.ctx());
    expect(await countDoc(task)).toBe(0);
    const evs = await events();
    expect(evs.map((e) => e.kind).sort()).toEqual(['batch_indexed', 'completed']);
    expect(evs.find((e) => e.kind === 'completed')).toMatchObject({ chunks: 2, tokens: b0.tokens, batches: 1 });
  });

  it('never completes before every batch event is out, when a replica dies between writing and recording', async () => {
    const task = w.task('port.txt');
    const batches = await Promise.all(TEXTS.map((t, i) => embeddedBatch(task, i, t)));
    // the real task state, with the process dying just before batch 1 is recorded
    let died = false;
    const dying = Object.create(w.taskState, {
      recordBatch: {
        value: (...args: Parameters<StageWorld['taskState']['recordBatch']>) => {
          if (args[1] === 1 && !died) {
            died = true;
            return Promise.reject(new Error('SIGKILL'));
          }
          return w.taskState.recordBatch(...args);
        },
      },
    }) as StageWorld['taskState'];
    const handle = indexerFor(w, { taskState: dying });
    await expect(handle(batches[1]!, w.ctx())).rejects.toThrow('SIGKILL');
    for (const m of [batches[0]!, batches[2]!, manifestFor(task, 3, 6)]) await handle(m, w.ctx());
    expect((await events()).filter((e) => e.kind === 'completed')).toHaveLength(0);
    await handle(batches[1]!, w.ctx()); // the redelivery
    const evs = await events();
    expect(evs.map((e) => e.kind)).toEqual(['completed']);
    expect(evs[0]).toMatchObject({ chunks: 6, batches: 3 });
    expect(await countDoc(task)).toBe(6);
  });

  it('reports the first permanent per-item failure, else a retryable one', () => {
    const errs = [
      { id: 'a', reason: '429 es_rejected_execution_exception: busy', retryable: true },
      { id: 'b', reason: '400 mapper_parsing_exception: bad date', retryable: false },
    ];
    const p = upsertFailure(errs, 10);
    expect(p).toMatchObject({ retryable: false, message: 'doc store rejected 2 of 10 chunks, first b: 400 mapper_parsing_exception: bad date' });
    expect(upsertFailure([errs[0]!], 10)).toMatchObject({ retryable: true, message: expect.stringContaining('first a: 429') as string });
  });
});

describe('indexer completion counted once in MySQL', () => {
  let taskdb: TaskDb;
  let kb: KnowledgebaseRow;
  beforeAll(async () => {
    taskdb = await openTaskDb();
    const tenantId = await taskdb.ensureTenant({ name: 'indexer-test', embdId: EMBD_ID });
    kb = await taskdb.ensureKnowledgebase({ name: 'kb', tenantId, embdId: EMBD_ID });
  });
  afterAll(async () => {
    if (taskdb) await dropDatabase(taskdb);
    await taskdb?.close();
  });

  it('increments document and knowledge base chunk_num/token_num exactly once, keeping chunk_ids in batch order', async () => {
    const { doc, taskId } = await seedDocumentTask(taskdb, kb.id);
    const task = w.task(doc.name ?? 'notes.txt', { task_id: taskId, doc_id: doc.id, kb_id: kb.id, tenant_id: kb.tenant_id });
    const batches = await Promise.all(TEXTS.map((t, i) => embeddedBatch(task, i, t)));
    const handle = indexer();
    // out of order, redelivered, and a second manifest: the events still say one completion
    for (const m of [batches[2]!, manifestFor(task, 3, 6), batches[0]!, batches[2]!, batches[1]!, batches[0]!, manifestFor(task, 3, 6)]) await handle(m, w.ctx());
    const evs = await events();
    expect(evs.filter((e) => e.kind === 'completed')).toHaveLength(1);
    const tokens = batches.reduce((s, b) => s + b.tokens, 0);

    const kbBefore = (await taskdb.getKnowledgebase(kb.id))!;
    const write = createProgressWriter({ taskdb, logger });
    const items = (msgs: PipelineEvent[]): BatchItem<PipelineEvent>[] =>
      msgs.map((msg, i) => ({ msg, subject: 'test', streamSeq: i + 1, headers: {}, traceContext: ROOT_CONTEXT }));
    // the monitor may see the whole lot twice (redelivery after a crash before its ack)
    await write(items(evs));
    await write(items(evs));

    const d = (await taskdb.getDocument(doc.id))!;
    expect(d).toMatchObject({ chunk_num: 6, token_num: tokens, progress: 1 });
    const kbAfter = (await taskdb.getKnowledgebase(kb.id))!;
    expect(kbAfter.chunk_num - kbBefore.chunk_num).toBe(6);
    expect(kbAfter.token_num - kbBefore.token_num).toBe(tokens);
    const t = (await taskdb.getTask(taskId))!;
    expect(t.progress).toBe(1);
    expect(t.chunk_ids).toBe(batches.flatMap((b) => b.chunks.map((c) => c.id)).join(' '));
  });
});

describe('indexer with enriched chunks', () => {
  it("writes the enricher's fields (keywords, questions, tags) searchably and merges the batch's document metadata", async () => {
    const task = w.task('port.txt');
    const plain = await embeddedBatch(task, 0, TEXTS[0]!);
    const enriched = {
      ...plain,
      chunks: plain.chunks.map((c, i) => ({
        ...c,
        // words neither chunk's text holds: only the enricher's fields can match them
        important_kwd: i === 0 ? ['gantry'] : ['quayside'],
        important_tks: tokenize(i === 0 ? 'gantry' : 'quayside'),
        question_kwd: i === 0 ? ['Which machine hoists the boxes?'] : ['Who steers the vessels?'],
        question_tks: tokenize(i === 0 ? 'Which machine hoists the boxes?' : 'Who steers the vessels?'),
        tag_feas: { shipping: 3 },
      })),
      doc_metadata: { harbour: ['Rotterdam、Hamburg'] },
    };
    await indexer()(enriched, w.ctx());
    await w.docstore.refresh(task.tenant_id);
    const [stored] = await w.docstore.get(task.tenant_id, [plain.chunks[0]!.id]);
    expect(stored).toMatchObject({ important_kwd: ['gantry'], question_kwd: ['Which machine hoists the boxes?'], tag_feas: { shipping: 3 } });
    const search = (query: string) => w.docstore.search({ tenantId: task.tenant_id, kbIds: [task.kb_id], query, mode: 'fulltext' });
    expect((await search('quayside')).map((h) => h.id)).toEqual([plain.chunks[1]!.id]);
    expect((await search('machine hoists boxes')).map((h) => h.id)).toEqual([plain.chunks[0]!.id]);
    expect(await w.docstore.getDocMetadata(task.tenant_id, task.doc_id)).toEqual({ harbour: ['Rotterdam', 'Hamburg'] });
    // a redelivered batch (already recorded) writes nothing twice; the metadata stays as it was
    await indexer()(enriched, w.ctx());
    expect(await w.docstore.getDocMetadata(task.tenant_id, task.doc_id)).toEqual({ harbour: ['Rotterdam', 'Hamburg'] });
  });
});
