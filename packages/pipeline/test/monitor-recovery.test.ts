import { TaskMessage } from '@ragline/contracts';
import { RagflowQueueConsumer, RagflowQueueProducer, cancelTask } from '@ragline/redis-queue';
import { RunStatus, type KnowledgebaseRow, type TaskDb } from '@ragline/taskdb';
import { dropDatabase } from '@ragline/taskdb/testing';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { heldTasks, queueAheadCounter, queuedTasks, recoverUnheldTasks, type RecoveryDeps } from '../src/index.js';
import { EMBD_ID, hexId, logger, openStageWorld, openTaskDb, rand, seedDocumentTask, type StageWorld } from './support/stage-env.js';

let w: StageWorld;
let producer: RagflowQueueProducer;
let queues: string[];

beforeAll(async () => {
  w = await openStageWorld();
  producer = new RagflowQueueProducer(w.redis);
});
afterAll(async () => {
  await w?.cleanup();
});
beforeEach(() => {
  // high priority first, as RAGFlow's te.1.common, te.0.common
  queues = [`mr.${rand()}.1`, `mr.${rand()}.0`];
});

/** A bridge replica of the RAGFlow consumer group, for taking entries without acking them. */
function bridgeConsumer(name = `bridge_${rand()}`) {
  return new RagflowQueueConsumer(w.redis, { streams: queues, consumer: name, blockMs: 50 });
}

describe('which tasks a stage holds', () => {
  it('sees unread and pending queue entries and work-stream messages, not acked ones', async () => {
    const [unread, pending, acked, inJetStream, doneInJetStream] = [hexId(), hexId(), hexId(), hexId(), hexId()];
    const consumer = bridgeConsumer();
    await consumer.ensureGroups();
    await producer.enqueue(queues[1]!, { id: pending, doc_id: 'd1' });
    await producer.enqueue(queues[1]!, { id: acked, doc_id: 'd2' });
    const taken = await consumer.read();
    expect(taken.map((e) => JSON.parse(e.message!).id)).toEqual([pending, acked]);
    await consumer.ack(taken[1]!);
    await producer.enqueue(queues[1]!, { id: unread, doc_id: 'd3' });
    await producer.enqueue(queues[1]!, 'not json at all' as unknown as Record<string, unknown>).catch(() => undefined);

    for (const id of [inJetStream, doneInJetStream]) {
      const task = w.task('held.txt', { task_id: id });
      await w.publisher.publish(w.names.subjects.tasks, TaskMessage, w.taskMessage(task), { msgID: `task.${id}`, taskId: id, docId: task.doc_id });
    }
    // the parser finishes one of them: work-queue retention removes the acked message
    const got = await w.read(w.names.streams.tasks, w.names.consumers.parser, TaskMessage);
    expect(got).toHaveLength(2);
    const again = (id: string) => {
      const task = w.task('held.txt', { task_id: id });
      return w.publisher.publish(w.names.subjects.tasks, TaskMessage, w.taskMessage(task), { msgID: `task2.${id}`, taskId: id, docId: task.doc_id });
    };
    await again(inJetStream);

    const { refs } = await queuedTasks(w.redis, queues);
    expect(refs.map((r) => [r.taskId, r.state]).sort()).toEqual([
      [pending, 'pending'],
      [unread, 'unread'],
    ].sort());
    const held = await heldTasks({ redis: w.redis, jsm: w.jsm, names: w.names, queues });
    expect(held.complete).toBe(true);
    expect([...held.ids].sort()).toEqual([unread, pending, inJetStream].sort());
    consumer.close();

    // a scan limit below the backlog makes the answer incomplete instead of wrong
    expect((await heldTasks({ redis: w.redis, jsm: w.jsm, names: w.names, queues }, { maxPerStream: 0 })).complete).toBe(false);
  });
});

describe('stuck tasks and recovery', () => {
  let taskdb: TaskDb;
  let kb: KnowledgebaseRow;
  const deps = (): RecoveryDeps => ({ taskdb, redis: w.redis, jsm: w.jsm, names: w.names, queues, logger });

  beforeEach(async () => {
    taskdb = await openTaskDb();
    const tenantId = await taskdb.ensureTenant({ name: 'recovery', embdId: EMBD_ID });
    kb = await taskdb.ensureKnowledgebase({ name: 'kb', tenantId, embdId: EMBD_ID });
  });
  afterEach(async () => {
    await dropDatabase(taskdb);
    await taskdb.close();
  });

  it('re-enqueues an unheld stuck task to its priority stream, again after each lost attempt, then fails it after 3', async () => {
    const { doc, taskId } = await seedDocumentTask(taskdb, kb.id);
    const consumer = bridgeConsumer();
    const pass = () => recoverUnheldTasks(deps(), { olderThanMs: 0, maxRetries: 3 });

    for (let attempt = 1; attempt <= 3; attempt++) {
      const r = await pass();
      expect(r.requeued.map((t) => [t.id, t.stream])).toEqual([[taskId, queues[1]]]);
      // while the entry waits in the queue the task is held: a second pass leaves it alone
      const idle = await pass();
      expect(idle).toMatchObject({ candidates: 1, held: 1, requeued: [], failed: [] });
      // the bridge takes it and loses it (crash after receiving, Redis restart...): one attempt used
      const [entry] = await consumer.read();
      expect(JSON.parse(entry!.message!)).toMatchObject({ id: taskId, doc_id: doc.id, priority: 0 });
      expect((await taskdb.receiveTask(taskId)).status).toBe('ok');
      await consumer.ack(entry!);
      const t = await taskdb.getTask(taskId);
      expect(t!.retry_count).toBe(attempt);
      expect(t!.progress_msg).toContain(`Re-queued by the monitor: no progress for over 0s and no stage held the task (attempt ${attempt} of 3).`);
    }

    const last = await pass();
    expect(last.requeued).toEqual([]);
    expect(last.failed.map((t) => t.id)).toEqual([taskId]);
    const t = await taskdb.getTask(taskId);
    expect(t!.progress).toBe(-1);
    expect(t!.progress_msg).toContain('[ERROR]Task is stuck: no progress for over 0s and no stage holds it; given up after 3 attempts.');
    const d = await taskdb.getDocument(doc.id);
    expect(d).toMatchObject({ run: RunStatus.FAIL, progress: -1 });
    // nothing left to do
    expect(await pass()).toMatchObject({ candidates: 0, requeued: [], failed: [] });
    consumer.close();
  });

  it('leaves recent, held and cancelled tasks alone; recover (no retry bound) re-enqueues what a lost queue dropped', async () => {
    const lost = await seedDocumentTask(taskdb, kb.id);
    const queued = await seedDocumentTask(taskdb, kb.id);
    const cancelled = await seedDocumentTask(taskdb, kb.id);
    await producer.enqueue(queues[1]!, { id: queued.taskId, doc_id: queued.doc.id });
    await cancelTask(w.redis, cancelled.taskId);

    expect(await recoverUnheldTasks(deps(), { olderThanMs: 3_600_000, maxRetries: null })).toMatchObject({ candidates: 0, requeued: [] });
    const dry = await recoverUnheldTasks(deps(), { olderThanMs: 0, maxRetries: null, dryRun: true });
    expect(dry.requeued.map((t) => t.id)).toEqual([lost.taskId]);
    expect((await queuedTasks(w.redis, queues)).refs.map((r) => r.taskId)).toEqual([queued.taskId]);

    // three earlier deliveries: recover still re-enqueues; the bridge applies RAGFlow's own limit
    for (let i = 0; i < 3; i++) await taskdb.receiveTask(lost.taskId);
    const r = await recoverUnheldTasks(deps(), { olderThanMs: 0, maxRetries: null, actor: 'ragline recover' });
    expect(r).toMatchObject({ candidates: 3, held: 1, failed: [], cancelled: [cancelled.taskId], complete: true });
    expect(r.requeued.map((t) => t.id)).toEqual([lost.taskId]);
    expect((await queuedTasks(w.redis, queues)).refs.map((r) => r.taskId)).toEqual([queued.taskId, lost.taskId]);
    expect((await taskdb.getTask(lost.taskId))!.progress_msg).toContain('Re-queued by ragline recover: no progress for over 0s and no stage held the task.');
  });

  it('writes "N tasks are ahead in the queue..." counting higher-priority and earlier entries, cancelled ones excluded', async () => {
    const others = await Promise.all(Array.from({ length: 5 }, () => seedDocumentTask(taskdb, kb.id)));
    const mine = await seedDocumentTask(taskdb, kb.id);
    const behind = await seedDocumentTask(taskdb, kb.id);
    const consumer = bridgeConsumer();
    await consumer.ensureGroups();
    // priority 1 stream: one live entry, one cancelled; priority 0: an entry already taken, two live, one cancelled, then mine
    await producer.enqueue(queues[0]!, { id: others[0]!.taskId, doc_id: others[0]!.doc.id });
    await producer.enqueue(queues[0]!, { id: others[1]!.taskId, doc_id: others[1]!.doc.id });
    await cancelTask(w.redis, others[1]!.taskId);
    const taken = hexId();
    await producer.enqueue(queues[1]!, { id: taken, doc_id: 'x' });
    await consumer.read(); // reads the priority-1 entries first...
    await consumer.read(); // ...then the taken one: delivered entries are not "ahead"
    for (const o of others.slice(2)) await producer.enqueue(queues[1]!, { id: o.taskId, doc_id: o.doc.id });
    await cancelTask(w.redis, others[4]!.taskId);
    await producer.enqueue(queues[1]!, { id: mine.taskId, doc_id: mine.doc.id });
    await producer.enqueue(queues[1]!, { id: behind.taskId, doc_id: behind.doc.id });
    consumer.close();

    const ahead = await queueAheadCounter(w.redis, queues);
    // the two priority-1 entries were read by the consumer above, so nothing of priority 1 is ahead
    expect(ahead(0, mine.doc.id)).toBe(2);
    expect(ahead(0, behind.doc.id)).toBe(3);
    expect(ahead(1, 'some-doc')).toBe(0);

    await taskdb.syncDocuments([mine.doc.id, behind.doc.id], { queueAhead: ahead });
    expect((await taskdb.getDocument(mine.doc.id))!.progress_msg).toBe('2 tasks are ahead in the queue...');
    expect((await taskdb.getDocument(behind.doc.id))!.progress_msg).toBe('3 tasks are ahead in the queue...');
  });
});
