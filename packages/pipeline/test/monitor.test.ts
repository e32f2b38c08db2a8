import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { BatchItem } from '@ragline/bus';
import { TaskMessage, type DeadLetter, type PipelineEvent } from '@ragline/contracts';
import { HeartbeatReporter, RagflowQueueProducer } from '@ragline/redis-queue';
import { listen } from '@ragline/service';
import { RunStatus, type KnowledgebaseRow, type TaskDb } from '@ragline/taskdb';
import { dropDatabase } from '@ragline/taskdb/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDeadLetterHandler, createMonitorServer, createProgressWriter, indexingProgress, type MonitorServerDeps } from '../src/index.js';
import { EMBD_ID, logger, openStageWorld, openTaskDb, rand, seedDocumentTask, type StageWorld } from './support/stage-env.js';

let taskdb: TaskDb;
let kb: KnowledgebaseRow;

beforeAll(async () => {
  taskdb = await openTaskDb();
  const tenantId = await taskdb.ensureTenant({ name: 'monitor-test', embdId: EMBD_ID });
  kb = await taskdb.ensureKnowledgebase({ name: 'kb', tenantId, embdId: EMBD_ID });
});
afterAll(async () => {
  if (!taskdb) return;
  await dropDatabase(taskdb);
  await taskdb.close();
});

const chunkId = (): string => randomBytes(8).toString('hex');
const items = <T>(msgs: T[]): BatchItem<T>[] => msgs.map((msg, i) => ({ msg, subject: 'test', streamSeq: i + 1, headers: {} }));

async function taskRow(id: string) {
  const t = await taskdb.getTask(id);
  if (!t) throw new Error(`task ${id} missing`);
  return t;
}
async function docRow(id: string) {
  const d = await taskdb.getDocument(id);
  if (!d) throw new Error(`document ${id} missing`);
  return d;
}
async function kbRow() {
  return (await taskdb.getKnowledgebase(kb.id))!;
}

/** The events one task produces through the pipeline: parser progress, two indexed batches, completion. */
function taskEvents(taskId: string, docId: string, ids: string[][]) {
  const at = Date.now();
  const progress = (msg: string, p: number | null): PipelineEvent => ({
    v: 1,
    kind: 'progress',
    task_id: taskId,
    doc_id: docId,
    at,
    stage: 'parser',
    progress: p,
    msg,
    page_range: { from: 0, to: 100_000_000 },
  });
  const batch = (batchNo: number, tokens: number): PipelineEvent => ({
    v: 1,
    kind: 'batch_indexed',
    task_id: taskId,
    doc_id: docId,
    kb_id: kb.id,
    at,
    batch_no: batchNo,
    chunk_ids: ids[batchNo]!,
    tokens,
    indexed_batches: batchNo + 1,
    total_batches: ids.length,
  });
  const completed: PipelineEvent = {
    v: 1,
    kind: 'completed',
    task_id: taskId,
    doc_id: docId,
    kb_id: kb.id,
    at,
    chunks: ids.flat().length,
    tokens: 15,
    batches: ids.length,
    duration_ms: 1234,
  };
  return { start: progress('Start to parse.', 0.1), parsed: progress('Finish parsing: 3 chunks in 2 batches (0.10s).', 0.3), batch, completed };
}

describe('monitor progress writer', () => {
  const write = () => createProgressWriter({ taskdb, logger });

  it('applies progress lines, indexed batches and completion in one call: task done, document counted and done', async () => {
    const { doc, taskId } = await seedDocumentTask(taskdb, kb.id);
    const ids = [[chunkId(), chunkId()], [chunkId()]];
    const e = taskEvents(taskId, doc.id, ids);
    const kbBefore = await kbRow();

    await write()(items([e.start, e.parsed, e.batch(0, 10), e.batch(1, 5), e.completed]));

    const t = await taskRow(taskId);
    expect(t.progress).toBe(1);
    expect(t.chunk_ids).toBe(ids.flat().join(' '));
    expect(t.process_duration).toBeCloseTo(1.234, 3);
    expect(t.progress_msg).toMatch(/\d\d:\d\d:\d\d Page\(1~100000000\): Start to parse\./);
    expect(t.progress_msg).toContain('Finish parsing: 3 chunks in 2 batches');
    expect(t.progress_msg).toContain('Indexing done: 3 chunks, 15 tokens. Task done (1.23s)');
    const d = await docRow(doc.id);
    expect(d).toMatchObject({ chunk_num: 3, token_num: 15, run: RunStatus.DONE, progress: 1 });
    const kbAfter = await kbRow();
    expect(kbAfter.chunk_num - kbBefore.chunk_num).toBe(3);
    expect(kbAfter.token_num - kbBefore.token_num).toBe(15);
  });

  it('counts a task once however often its completion and batches are redelivered', async () => {
    const { doc, taskId } = await seedDocumentTask(taskdb, kb.id);
    const ids = [[chunkId(), chunkId()], [chunkId()]];
    const e = taskEvents(taskId, doc.id, ids);

    await write()(items([e.start, e.batch(0, 10), e.batch(1, 5)]));
    let t = await taskRow(taskId);
    expect(t.progress).toBeCloseTo(indexingProgress(2, 2)!, 6);
    expect((await docRow(doc.id)).run).toBe(RunStatus.RUNNING);

    const kbBefore = await kbRow();
    await write()(items([e.completed, e.completed]));
    await write()(items([e.batch(1, 5), e.completed]));

    t = await taskRow(taskId);
    expect(t.progress).toBe(1);
    expect(t.chunk_ids).toBe(ids.flat().join(' '));
    expect(t.progress_msg.match(/Task done/g)).toHaveLength(1);
    expect(await docRow(doc.id)).toMatchObject({ chunk_num: 3, token_num: 15, run: RunStatus.DONE });
    const kbAfter = await kbRow();
    expect(kbAfter.chunk_num - kbBefore.chunk_num).toBe(3);
  });

  it('holds a completion that overtook a batch event until the batch is recorded (completes anyway on its last delivery)', async () => {
    const { doc, taskId } = await seedDocumentTask(taskdb, kb.id);
    const ids = [[chunkId(), chunkId()], [chunkId()]];
    const e = taskEvents(taskId, doc.id, ids);

    // batch 1's event failed its first delivery and comes back later; the completion arrives first
    const first = items([e.start, e.batch(0, 10), e.completed]);
    const outcome = await write()(first);
    expect(outcome).toEqual({ later: [first[2]], delayMs: 2000 });
    expect((await taskRow(taskId)).progress).toBeLessThan(1);
    expect((await docRow(doc.id)).chunk_num).toBe(0);

    // redelivered (second delivery) before the batch: still held, and the next look waits longer
    const again = [{ ...items([e.completed])[0]!, deliveryCount: 2 }];
    expect(await write()(again)).toEqual({ later: again, delayMs: 4000 });

    await write()(items([e.batch(1, 5)]));
    expect(await write()([{ ...items([e.completed])[0]!, deliveryCount: 3 }])).toBeUndefined();
    const t = await taskRow(taskId);
    expect(t.progress).toBe(1);
    expect(t.chunk_ids).toBe(ids.flat().join(' '));
    expect(await docRow(doc.id)).toMatchObject({ chunk_num: 3, token_num: 15, run: RunStatus.DONE });

    // a batch event that never comes (it was dead-lettered) cannot hold a task forever
    const other = await seedDocumentTask(taskdb, kb.id);
    const o = taskEvents(other.taskId, other.doc.id, [[chunkId()], [chunkId()]]);
    await write()(items([o.batch(0, 4)]));
    expect(await write()([{ ...items([o.completed])[0]!, deliveryCount: 5, lastAttempt: true }])).toBeUndefined();
    expect(await taskRow(other.taskId)).toMatchObject({ progress: 1 });
    expect(await docRow(other.doc.id)).toMatchObject({ chunk_num: 2 });
  });

  it('skips events of tasks MySQL does not know (deleted meanwhile) instead of failing the batch', async () => {
    const { doc, taskId } = await seedDocumentTask(taskdb, kb.id);
    const gone = taskEvents('f'.repeat(32), 'e'.repeat(32), [[chunkId()]]);
    const known = taskEvents(taskId, doc.id, [[chunkId()]]);
    await write()(items([gone.start, gone.batch(0, 3), gone.completed, known.start]));
    expect((await taskRow(taskId)).progress).toBe(0.1);
    expect(await taskdb.getTask('f'.repeat(32))).toBeNull();
  });

  it('fails the task and its document from a dead letter, with the stage and the error', async () => {
    const { doc, taskId } = await seedDocumentTask(taskdb, kb.id);
    const dead = (taskId: string | null, docId: string | null): DeadLetter => ({
      v: 1,
      kind: 'dead_letter',
      stage: 'embedder',
      subject: 'ragline.chunks.embed',
      stream_seq: 7,
      deliveries: 5,
      error: { name: 'EmbeddingError', message: 'embedding server answered 503 five times', retryable: true },
      task_id: taskId,
      doc_id: docId,
      data_b64: '',
      headers: {},
      at: Date.now(),
    });

    // a dead letter without a task id is logged and skipped, not a reason to fail the whole batch
    await createDeadLetterHandler({ taskdb, logger })(items([dead(null, null), dead(taskId, doc.id)]));

    const t = await taskRow(taskId);
    expect(t.progress).toBe(-1);
    expect(t.progress_msg).toContain('[ERROR]embedder failed: embedding server answered 503 five times');
    const d = await docRow(doc.id);
    expect(d.run).toBe(RunStatus.FAIL);
    expect(d.progress).toBe(-1);
    expect(d.progress_msg).toContain('embedder failed: embedding server answered 503 five times');

    // a late progress event cannot revive a failed task (-1 is sticky)
    await write()(items([taskEvents(taskId, doc.id, [[chunkId()]]).parsed]));
    expect((await taskRow(taskId)).progress).toBe(-1);
  });
});

describe('monitor HTTP server', () => {
  let w: StageWorld;
  const servers: Server[] = [];
  let seeded: { taskId: string; docId: string };
  const queue = `mt.${rand()}.0`;

  beforeAll(async () => {
    w = await openStageWorld();
    const { doc, taskId } = await seedDocumentTask(taskdb, kb.id);
    seeded = { taskId, docId: doc.id };
  });
  afterAll(async () => {
    for (const s of servers) s.close();
    await w?.cleanup();
  });

  async function serve(overrides: Partial<MonitorServerDeps> = {}): Promise<string> {
    const server = createMonitorServer({
      taskdb,
      redis: w.redis,
      jsm: w.jsm,
      names: w.names,
      queues: [queue],
      checks: { mysql: () => taskdb.ping() },
      ...overrides,
    });
    servers.push(server);
    const port = await listen(server, 0, '127.0.0.1');
    return `http://127.0.0.1:${port}`;
  }

  it('answers /healthz, and /readyz 200 or 503 with the failing check named', async () => {
    const ok = await serve();
    expect((await fetch(`${ok}/healthz`)).status).toBe(200);
    expect((await fetch(`${ok}/readyz`)).status).toBe(200);

    const broken = await serve({
      checks: {
        mysql: () => taskdb.ping(),
        nats: () => {
          throw new Error('NATS connection closed');
        },
      },
    });
    expect((await fetch(`${broken}/healthz`)).status).toBe(200);
    const res = await fetch(`${broken}/readyz`);
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ status: 'not ready', checks: { mysql: 'ok', nats: 'NATS connection closed' } });
  });

  it('lists tasks, filters by state, rejects an unknown state and 404s an unknown task', async () => {
    const base = await serve();
    const all = await fetch(`${base}/api/tasks?kb=${kb.id}&limit=500`);
    expect(all.status).toBe(200);
    const { tasks } = (await all.json()) as { tasks: { id: string; doc_id: string; kb_id: string }[] };
    expect(tasks.find((t) => t.id === seeded.taskId)).toMatchObject({ doc_id: seeded.docId, kb_id: kb.id });

    const queued = (await (await fetch(`${base}/api/tasks?state=queued&limit=500`)).json()) as { tasks: { id: string }[] };
    expect(queued.tasks.map((t) => t.id)).toContain(seeded.taskId);
    const done = (await (await fetch(`${base}/api/tasks?state=done&limit=500`)).json()) as { tasks: { id: string }[] };
    expect(done.tasks.map((t) => t.id)).not.toContain(seeded.taskId);

    const bad = await fetch(`${base}/api/tasks?state=finished`);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toMatch(/state must be one of/);

    const one = await fetch(`${base}/api/tasks/${seeded.taskId}`);
    expect(one.status).toBe(200);
    expect(((await one.json()) as { task: { id: string } }).task.id).toBe(seeded.taskId);
    expect((await fetch(`${base}/api/tasks/${'0'.repeat(32)}`)).status).toBe(404);
  });

  it('enforces the bearer token on the API but leaves /healthz open', async () => {
    const base = await serve({ token: 's3cret-token' });
    const none = await fetch(`${base}/api/tasks`);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer');
    expect((await fetch(`${base}/api/tasks`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    expect((await fetch(`${base}/api/tasks`, { headers: { authorization: 'Bearer s3cret-token' } })).status).toBe(200);
    expect((await fetch(`${base}/api/tasks/${seeded.taskId}`, { headers: { authorization: 'Bearer s3cret-token' } })).status).toBe(200);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
  });

  it('reports the five consuming stages with pending counts and the RAGFlow queue depth', async () => {
    const task = w.task('pending.txt');
    await w.publisher.publish(w.names.subjects.tasks, TaskMessage, w.taskMessage(task), { msgID: `task.${task.task_id}` });
    await new RagflowQueueProducer(w.redis).enqueue(queue, { id: task.task_id });

    const base = await serve();
    const res = await fetch(`${base}/api/stages`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { stages: { stage: string; pending: number; stream: string }[]; queues: { stream: string; length: number }[] };
    expect(body.stages.map((s) => s.stage)).toEqual(['parser', 'enricher', 'embedder', 'indexer', 'monitor']);
    for (const s of body.stages) expect(typeof s.pending).toBe('number');
    expect(body.stages[0]).toMatchObject({ stream: w.names.streams.tasks, pending: 1 });
    expect(body.stages.slice(1).map((s) => s.pending)).toEqual([0, 0, 0, 0]);
    // the enricher and the embedder read the two subjects of the one chunks stream
    expect(body.stages[1]).toMatchObject({ stream: w.names.streams.chunks, consumer: w.names.consumers.enricher });
    expect(body.queues).toEqual([expect.objectContaining({ stream: queue, length: 1 })]);
  });

  it('lists workers from their RAGFlow-compatible heartbeats', async () => {
    const name = `ragline_parser_${rand()}`;
    const reporter = new HeartbeatReporter(w.redis, {
      name,
      stage: 'parser',
      version: '0.1.0',
      snapshot: () => ({ pending: 2, lag: 0, done: 5, failed: 1, current: {} }),
    });
    await reporter.beat();

    const base = await serve();
    const res = await fetch(`${base}/api/workers`);
    expect(res.status).toBe(200);
    const { workers } = (await res.json()) as { workers: { name: string; alive: boolean; heartbeat: Record<string, unknown> }[] };
    expect(workers.find((x) => x.name === name)).toMatchObject({ alive: true, heartbeat: { stage: 'parser', done: 5, failed: 1, pending: 2 } });
    await reporter.stop({ deregister: true });
  });
});
