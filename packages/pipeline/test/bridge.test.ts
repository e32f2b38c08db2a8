import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Publisher, connectNats } from '@ragline/bus';
import { msgIds, topologyNames } from '@ragline/contracts';
import { cancelTask, type QueueEntry, type RagflowQueueConsumer } from '@ragline/redis-queue';
import { ABANDON_MESSAGE, RECEIVED_MESSAGE } from '@ragline/taskdb';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openBridgeWorld, rand, type BridgeScenario, type BridgeWorld } from './support/bridge-env.js';

let world: BridgeWorld;
let s: BridgeScenario;

beforeAll(async () => {
  world = await openBridgeWorld();
});
afterAll(async () => {
  await world?.close();
});
beforeEach(async () => {
  s = await world.scenario();
});
afterEach(async () => {
  await s?.cleanup();
});

async function task(id: string) {
  const row = await world.taskdb.getTask(id);
  if (!row) throw new Error(`task ${id} missing`);
  return row;
}

describe('bridge: RAGFlow queue -> JetStream', () => {
  it('publishes the task with its full MySQL context, acks only after the publish, hands a re-enqueued task on again', async () => {
    const { kb, doc, message } = await world.seedTask();
    const entryId = await s.producer.enqueue(s.streams.low, { ...message });
    const consumer = s.consumer('bridge-1');
    // what JetStream held at the moment each Redis entry was acked
    const tasksInStreamAtAck: number[] = [];
    const bridge = s.bridge(consumer, {
      queue: {
        read: () => consumer.read(),
        ack: async (e: QueueEntry) => {
          tasksInStreamAtAck.push(await s.taskStreamCount());
          await consumer.ack(e);
        },
      },
    });

    expect(await bridge.pollOnce()).toBe(1);
    expect(bridge.stats).toMatchObject({ received: 1, published: 1, errors: 0 });
    expect(tasksInStreamAtAck).toEqual([1]);
    expect(await s.pendingCount(s.streams.low)).toBe(0);

    const [published] = await s.takeTasks(1);
    expect(published!.headers['Nats-Msg-Id']).toBe(msgIds.task(message.id, { stream: s.streams.low, id: entryId }));
    expect(published!.headers['Ragline-Task-Id']).toBe(message.id);
    expect(published!.headers['Ragline-Doc-Id']).toBe(doc.id);
    expect(published!.body.source).toEqual({ stream: s.streams.low, entry_id: entryId });
    expect(published!.body.task).toMatchObject({
      task_id: message.id,
      doc_id: doc.id,
      kb_id: kb.id,
      tenant_id: world.tenantId,
      task_type: '',
      from_page: message.from_page,
      to_page: message.to_page,
      priority: 0,
      retry_count: 1,
      parser_id: 'naive',
      doc_name: doc.name,
      doc_type: 'doc',
      bucket: kb.id,
      location: doc.location,
      size: 321,
      language: 'English',
      embd_id: 'BAAI/bge-m3@Builtin',
      pagerank: 0,
    });
    // the document's parser_config overrides the knowledge base's, key by key
    expect(published!.body.task.parser_config).toMatchObject({ chunk_token_num: 256, delimiter: '\n' });

    const received = await task(message.id);
    expect(received.retry_count).toBe(1);
    expect(received.progress_msg).toContain(RECEIVED_MESSAGE);

    // the same task re-enqueued on purpose (recover, a stuck-task retry) is a new attempt: handed on,
    // not dropped by the dedupe window as a copy of the first (RAGFlow #18942)
    await s.producer.enqueue(s.streams.low, { ...message });
    expect(await bridge.pollOnce()).toBe(1);
    expect(bridge.stats).toMatchObject({ received: 2, published: 2, duplicates: 0, errors: 0 });
    expect(await s.taskStreamCount()).toBe(2);
    expect(await s.pendingCount(s.streams.low)).toBe(0);
    expect((await task(message.id)).retry_count).toBe(2);
  });

  it('publishes the high-priority stream first', async () => {
    const low = await world.seedTask();
    const high = await world.seedTask({ priority: 1 });
    // the low-priority entry is older: order of arrival must not win over priority
    await s.producer.enqueue(s.streams.low, { ...low.message });
    await s.producer.enqueue(s.streams.high, { ...high.message });
    const bridge = s.bridge(s.consumer('bridge-1'));

    expect(await bridge.pollOnce()).toBe(1);
    expect(await bridge.pollOnce()).toBe(1);
    const published = await s.takeTasks(2);
    expect(published.map((p) => p.body.task.task_id)).toEqual([high.message.id, low.message.id]);
    expect(published[0]!.body.task.priority).toBe(1);
  });

  it('re-reads its own pending entry first after a crash between read and ack', async () => {
    const crashed = await world.seedTask();
    const later = await world.seedTask({ priority: 1 });
    await s.producer.enqueue(s.streams.low, { ...crashed.message });
    const before = s.consumer('bridge-a');
    expect(await before.read()).toHaveLength(1);
    before.close(); // "crash": read, never acked
    expect(await s.pendingCount(s.streams.low)).toBe(1);
    // newer and of higher priority, still the pending entry comes first
    await s.producer.enqueue(s.streams.high, { ...later.message });

    const restarted = s.consumer('bridge-a');
    const bridge = s.bridge(restarted);
    expect(await bridge.pollOnce()).toBe(1);
    expect(restarted.counters.replayed).toBe(1);
    expect(await s.pendingCount(s.streams.low)).toBe(0);
    expect(await bridge.pollOnce()).toBe(1);
    expect((await s.takeTasks(2)).map((p) => p.body.task.task_id)).toEqual([crashed.message.id, later.message.id]);
  });

  it('a crash between the publish and the XACK republishes the same entry, and JetStream drops the copy', async () => {
    const { message } = await world.seedTask();
    await s.producer.enqueue(s.streams.low, { ...message });
    const first = s.consumer('bridge-a');
    // the process dies after JetStream's publish ack and before the Redis XACK
    const crashing = s.bridge(first, { queue: { read: () => first.read(), ack: () => Promise.reject(new Error('killed before XACK')) } });
    expect(await crashing.pollOnce()).toBe(1);
    first.close();
    expect(await s.pendingCount(s.streams.low)).toBe(1);

    const restarted = s.consumer('bridge-a');
    const bridge = s.bridge(restarted);
    expect(await bridge.pollOnce()).toBe(1);
    expect(bridge.stats).toMatchObject({ duplicates: 1, published: 0 });
    expect(await s.pendingCount(s.streams.low)).toBe(0);
    expect(await s.taskStreamCount()).toBe(1);
  });

  it("claims a dead consumer's idle entry with XAUTOCLAIM and processes it", async () => {
    const { message } = await world.seedTask();
    await s.producer.enqueue(s.streams.low, { ...message });
    const dead = s.consumer('dead');
    expect(await dead.read()).toHaveLength(1);
    dead.close();

    const consumer = s.consumer('bridge-b', { claimIdleMs: 100 });
    const bridge = s.bridge(consumer);
    await sleep(150);
    expect(await bridge.pollOnce()).toBe(1);
    expect(consumer.counters.claimed).toBe(1);
    expect(bridge.stats.published).toBe(1);
    expect(await s.pendingCount(s.streams.low)).toBe(0);
    expect((await s.takeTasks(1))[0]!.body.task.task_id).toBe(message.id);
  });

  it('acks a cancelled task without publishing and marks it cancelled in MySQL', async () => {
    const { message } = await world.seedTask();
    await cancelTask(s.redis, message.id);
    await s.producer.enqueue(s.streams.low, { ...message });
    const bridge = s.bridge(s.consumer('bridge-1'));

    expect(await bridge.pollOnce()).toBe(1);
    expect(bridge.stats).toMatchObject({ cancelled: 1, published: 0, errors: 0 });
    expect(await s.pendingCount(s.streams.low)).toBe(0);
    expect(await s.taskStreamCount()).toBe(0);
    const row = await task(message.id);
    expect(row.progress).toBe(-1);
    expect(row.progress_msg).toContain('[Canceled]');
  });

  it('acks and counts malformed entries, and a valid entry behind them still goes through', async () => {
    const { message } = await world.seedTask();
    await s.redis.xadd(s.streams.low, '*', 'message', '{not json');
    await s.producer.enqueue(s.streams.low, { doc_id: 'no-id-here', progress: 0 });
    await s.redis.xadd(s.streams.low, '*', 'payload', JSON.stringify({ id: message.id }));
    await s.producer.enqueue(s.streams.low, { ...message });
    const bridge = s.bridge(s.consumer('bridge-1'));

    expect(await bridge.pollOnce()).toBe(4);
    expect(bridge.stats).toMatchObject({ received: 4, malformed: 3, published: 1, errors: 0 });
    expect(await s.pendingCount(s.streams.low)).toBe(0);
    expect(await s.taskStreamCount()).toBe(1);
    expect((await s.takeTasks(1))[0]!.body.task.task_id).toBe(message.id);
  });

  it('acks an unknown task id without publishing', async () => {
    await s.producer.enqueue(s.streams.low, { id: `missing${rand()}`, doc_id: 'nowhere' });
    const bridge = s.bridge(s.consumer('bridge-1'));
    expect(await bridge.pollOnce()).toBe(1);
    expect(bridge.stats).toMatchObject({ unknown: 1, published: 0, errors: 0 });
    expect(await s.pendingCount(s.streams.low)).toBe(0);
    expect(await s.taskStreamCount()).toBe(0);
  });

  it('fails a task row whose document is gone, naming the document, and acks it', async () => {
    const { message } = await world.seedTask();
    const goneDoc = `gone${rand()}`;
    await world.updateTask(message.id, { doc_id: goneDoc });
    await s.producer.enqueue(s.streams.low, { ...message });
    const bridge = s.bridge(s.consumer('bridge-1'));

    expect(await bridge.pollOnce()).toBe(1);
    expect(bridge.stats).toMatchObject({ unknown: 1, published: 0, errors: 0 });
    expect(await s.pendingCount(s.streams.low)).toBe(0);
    expect(await s.taskStreamCount()).toBe(0);
    const row = await task(message.id);
    expect(row.progress).toBe(-1);
    expect(row.progress_msg).toMatch(new RegExp(`\\[ERROR\\]Task dropped: its document ${goneDoc} no longer exists\\.$`));
  });

  it("abandons a task delivered three times already with RAGFlow's message and fails its document", async () => {
    const { doc, message } = await world.seedTask();
    await world.updateTask(message.id, { retry_count: 3 });
    await s.producer.enqueue(s.streams.low, { ...message });
    const bridge = s.bridge(s.consumer('bridge-1'));

    expect(await bridge.pollOnce()).toBe(1);
    expect(bridge.stats).toMatchObject({ abandoned: 1, published: 0, errors: 0 });
    expect(await s.pendingCount(s.streams.low)).toBe(0);
    expect(await s.taskStreamCount()).toBe(0);
    const row = await task(message.id);
    expect(row.progress).toBe(-1);
    expect(row.progress_msg).toContain(ABANDON_MESSAGE(3));
    const document = await world.taskdb.getDocument(doc.id);
    expect(document?.run).toBe('4');
    expect(document?.progress).toBe(-1);
  });

  it('fails a task type Ragline does not run, naming the type', async () => {
    const { message } = await world.seedTask();
    await s.producer.enqueue(s.streams.low, { ...message, task_type: 'raptor' });
    const bridge = s.bridge(s.consumer('bridge-1'));

    expect(await bridge.pollOnce()).toBe(1);
    expect(bridge.stats).toMatchObject({ unsupported: 1, published: 0, errors: 0 });
    expect(await s.pendingCount(s.streams.low)).toBe(0);
    expect(await s.taskStreamCount()).toBe(0);
    const row = await task(message.id);
    expect(row.progress).toBe(-1);
    expect(row.progress_msg).toContain('"raptor"');
  });

  it('cuts a huge task type short in the failure message', async () => {
    const { message } = await world.seedTask();
    await s.producer.enqueue(s.streams.low, { ...message, task_type: `graphrag${'!'.repeat(10_000)}` });
    const bridge = s.bridge(s.consumer('bridge-1'));

    expect(await bridge.pollOnce()).toBe(1);
    expect(bridge.stats).toMatchObject({ unsupported: 1, errors: 0 });
    const row = await task(message.id);
    expect(row.progress).toBe(-1);
    expect(row.progress_msg).toMatch(
      /\[ERROR\]Ragline does not run task type "graphrag!{56}\.\.\." \(10,008 characters\); only standard chunking tasks are supported\.$/,
    );
  });

  it('forwards an unsupported task type unchanged to the configured stream instead of failing it', async () => {
    const { message } = await world.seedTask();
    const forwardStream = `${s.streams.low}.fwd`;
    await s.producer.enqueue(s.streams.low, { ...message, task_type: 'raptor' });
    const [original] = await s.streamMessages(s.streams.low);
    const bridge = s.bridge(s.consumer('bridge-1'), {
      forward: { stream: forwardStream, enqueue: (stream, m) => s.producer.enqueue(stream, m) },
    });

    expect(await bridge.pollOnce()).toBe(1);
    expect(bridge.stats).toMatchObject({ forwarded: 1, unsupported: 0, published: 0, errors: 0 });
    expect(await s.pendingCount(s.streams.low)).toBe(0);
    expect(await s.taskStreamCount()).toBe(0);
    const forwarded = await s.streamMessages(forwardStream);
    expect(forwarded).toHaveLength(1);
    expect(JSON.parse(forwarded[0]!)).toEqual(JSON.parse(original!));
    expect(JSON.parse(forwarded[0]!).task_type).toBe('raptor');
    const row = await task(message.id);
    expect(row.progress).toBeGreaterThanOrEqual(0);
    expect(row.retry_count).toBe(0);
  });

  it('keeps the entry pending when the publish fails, and hands it off after recovery', async () => {
    const { message } = await world.seedTask();
    await s.producer.enqueue(s.streams.low, { ...message });
    const consumer = s.consumer('bridge-1');
    const closed = await connectNats({ name: 'bridge-test-closed' });
    await closed.close();
    const broken = s.bridge(consumer, { publisher: new Publisher(closed) });

    expect(await broken.pollOnce()).toBe(1);
    expect(broken.stats).toMatchObject({ errors: 1, published: 0 });
    expect(await s.pendingCount(s.streams.low)).toBe(1);
    expect(await s.taskStreamCount()).toBe(0);

    // restarted with a working connection: the same consumer name replays its pending entry
    const recovered = s.bridge(s.consumer('bridge-1'));
    expect(await recovered.pollOnce()).toBe(1);
    expect(recovered.stats).toMatchObject({ published: 1, errors: 0 });
    expect(await s.pendingCount(s.streams.low)).toBe(0);
    const [published] = await s.takeTasks(1);
    expect(published!.body.task).toMatchObject({ task_id: message.id, retry_count: 2 });
  });

  it('backs off in run() while hand-offs fail instead of burning the retry budget in a tight loop', async () => {
    const { message } = await world.seedTask();
    await s.producer.enqueue(s.streams.low, { ...message });
    // a topology that was never created: JetStream answers "no responders" at once
    const missing = topologyNames(`bt_${rand()}_none`, `BT_${rand()}_NONE`);
    const bridge = s.bridge(s.consumer('bridge-1'), { names: missing });
    const abort = new AbortController();
    const running = bridge.run(abort.signal);
    await sleep(1200);
    abort.abort();
    await running;

    // attempts at ~0 ms and ~500 ms, the next one not before ~1500 ms
    expect(bridge.stats.errors).toBeGreaterThanOrEqual(1);
    expect(bridge.stats.errors).toBeLessThanOrEqual(3);
    expect(bridge.stats.abandoned).toBe(0);
    expect(await s.pendingCount(s.streams.low)).toBe(1);
    const row = await task(message.id);
    expect(row.progress).toBeGreaterThanOrEqual(0);
    // failed publishes are our outage, not RAGFlow delivery attempts: received once
    expect(row.retry_count).toBe(1);
  });

  it('continues the W3C trace of the Redis entry on the published message', async () => {
    const { message } = await world.seedTask();
    const traceId = randomBytes(16).toString('hex');
    const parentSpanId = 'b7ad6b7169203331';
    await s.producer.enqueue(s.streams.low, { ...message }, { traceparent: `00-${traceId}-${parentSpanId}-01` });
    const bridge = s.bridge(s.consumer('bridge-1'));

    expect(await bridge.pollOnce()).toBe(1);
    const [published] = await s.takeTasks(1);
    const [version, publishedTraceId, spanId] = published!.headers['traceparent']!.split('-');
    expect(version).toBe('00');
    expect(publishedTraceId).toBe(traceId);
    // the bridge's own span, child of the producer's
    expect(spanId).not.toBe(parentSpanId);
  });

  it("uses the file manager folder as bucket for documents uploaded through RAGFlow's file manager", async () => {
    const { doc, message } = await world.seedTask();
    await world.linkFileManagerFile(doc.id, 'folder1', 'stored/notes.txt');
    await s.producer.enqueue(s.streams.low, { ...message });
    const bridge = s.bridge(s.consumer('bridge-1'));

    expect(await bridge.pollOnce()).toBe(1);
    const [published] = await s.takeTasks(1);
    expect(published!.body.task).toMatchObject({ bucket: 'folder1', location: 'stored/notes.txt' });
  });
});
