import { ChunkBatch, IndexMessage, PipelineEvent, msgIds, type TaskContext } from '@ragline/contracts';
import { cancelTask } from '@ragline/redis-queue';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createEmbedHandler, taskRef, type IndexerTaskState } from '../src/index.js';
import { chunksFor, logger, openStageWorld, tracer, type StageWorld, embeddedBatch, hashingBackend, indexerFor } from './support/stage-env.js';

// A task cancelled while the batches still to come wait for the embedder: the embedder drops them,
// so its notice is the only message of the task the indexer will ever see again.

const TEXTS = [
  ['Harbour cranes lift containers.', 'Tugboats guide tankers in.'],
  ['Pilots board at the breakwater.', 'Customs officers check manifests.'],
  ['Gulls circle the fish market.'],
];

let w: StageWorld;
beforeEach(async () => {
  w = await openStageWorld();
});
afterEach(async () => {
  await w?.cleanup();
});

const embedder = () => createEmbedHandler({ backend: hashingBackend, publisher: w.publisher, names: w.names, isCancelled: w.isCancelled, logger, tracer });
const indexer = () => indexerFor(w);

const chunkBatch = (task: TaskContext, batchNo: number): ChunkBatch =>
  ChunkBatch.parse({ v: 1, kind: 'chunks', task: taskRef(task), batch_no: batchNo, chunks: chunksFor(task, TEXTS[batchNo]!) });

const embedded = (task: TaskContext, batchNo: number) => embeddedBatch(task, batchNo, TEXTS[batchNo]!);

const countDoc = (task: TaskContext) => w.docstore.count(task.tenant_id, { doc_id: task.doc_id });
const progressOf = async (task: TaskContext) =>
  (await w.read(w.names.streams.events, w.names.consumers.monitorEvents, PipelineEvent))
    .map((e) => e.msg)
    .flatMap((e) => (e.task_id === task.task_id && e.kind === 'progress' ? [e] : []));

describe('cancel notice from the embedder', () => {
  it('the embedder drops a cancelled task\'s batches and tells the indexer once', async () => {
    const task = w.task('port.txt');
    await cancelTask(w.redis, task.task_id);
    const handle = embedder();
    for (const n of [0, 1, 2]) await handle(chunkBatch(task, n), w.ctx());

    const index = await w.read(w.names.streams.index, w.names.consumers.indexer, IndexMessage);
    expect(index.map((m) => m.msg.kind)).toEqual(['cancelled']);
    expect(index[0]!.subject).toBe(w.names.subjects.cancelled);
    expect(index[0]!.headers['Nats-Msg-Id']).toBe(msgIds.cancelled(task));
    expect(index[0]!.msg).toMatchObject({ task: taskRef(task), batch_no: 0 });
  });

  it('the indexer removes what it indexed and fails the task on the notice alone, once', async () => {
    const task = w.task('port.txt');
    const handle = indexer();
    await handle(await embedded(task, 0), w.ctx());
    await handle({ v: 1, kind: 'manifest', task: taskRef(task), batches: 3, chunks: 5, parse_ms: 3 }, w.ctx());
    expect(await countDoc(task)).toBe(2);

    // batches 1 and 2 wait for the embedder when the cancel comes; it drops them and sends the notice
    await cancelTask(w.redis, task.task_id);
    const drop = embedder();
    for (const n of [1, 2]) await drop(chunkBatch(task, n), w.ctx());
    const notices = await w.read(w.names.streams.index, w.names.consumers.indexer, IndexMessage);
    expect(notices).toHaveLength(1);
    await handle(notices[0]!.msg, w.ctx());
    expect(await countDoc(task)).toBe(0);
    expect(((await w.taskState.get(task.task_id)) as IndexerTaskState).cancelledAt).toEqual(expect.any(Number));
    // redelivered: nothing removed or reported twice
    await handle(notices[0]!.msg, w.ctx());
    const progress = await progressOf(task);
    expect(progress.map((p) => [p.progress, p.msg])).toEqual([[-1, 'Task has been cancelled; removed 2 indexed chunks. [Canceled]']]);
  });

  it('a notice for a task that completed first leaves its chunks alone', async () => {
    const task = w.task('port.txt');
    const handle = indexer();
    for (const n of [0, 1, 2]) await handle(await embedded(task, n), w.ctx());
    await handle({ v: 1, kind: 'manifest', task: taskRef(task), batches: 3, chunks: 5, parse_ms: 3 }, w.ctx());
    expect((await w.taskState.get(task.task_id)).completedAt).not.toBeNull();
    await handle({ v: 1, kind: 'cancelled', task: taskRef(task), batch_no: 2 }, w.ctx());
    expect(await countDoc(task)).toBe(5);
    expect((await progressOf(task)).filter((p) => p.progress === -1)).toHaveLength(0);
  });
});
