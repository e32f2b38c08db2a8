import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import {
  QueueError,
  RagflowQueueConsumer,
  RagflowQueueProducer,
  cancelTask,
  isCancelled,
  queueStats,
  type RagflowQueueConsumerOptions,
} from '../src/index.js';
import { rand, rawRedis, sleep, testRedis } from './helpers.js';

const GROUP = 'rag_flow_svr_task_broker';

describe('RagflowQueueConsumer', () => {
  let redis: Redis;
  let prefix: string;
  let cleanup: () => Promise<void>;
  let hi: string;
  let lo: string;
  let producer: RagflowQueueProducer;
  const consumers: RagflowQueueConsumer[] = [];

  beforeEach(() => {
    ({ redis, prefix, cleanup } = testRedis());
    const suffix = rand();
    hi = `te.1.common.${suffix}`;
    lo = `te.0.common.${suffix}`;
    producer = new RagflowQueueProducer(redis);
  });

  afterEach(async () => {
    for (const c of consumers.splice(0)) c.close();
    await cleanup();
  });

  const consumer = (name: string, extra: Partial<RagflowQueueConsumerOptions> = {}): RagflowQueueConsumer => {
    const c = new RagflowQueueConsumer(redis, { streams: [hi, lo], consumer: name, blockMs: 50, ...extra });
    consumers.push(c);
    return c;
  };

  const ids = (entries: { message?: string }[]): string[] =>
    entries.map((e) => (JSON.parse(e.message ?? '{}') as { id: string }).id);

  it('creates the group at 0 with MKSTREAM, idempotently, under the client key prefix', async () => {
    const c = consumer('c1');
    await c.ensureGroups();
    await c.ensureGroups();
    const raw = rawRedis();
    try {
      for (const stream of [hi, lo]) {
        const groups = (await raw.call('XINFO', 'GROUPS', prefix + stream)) as unknown[][];
        expect(groups).toHaveLength(1);
        expect(groups[0]).toEqual(expect.arrayContaining(['name', GROUP, 'last-delivered-id', '0-0']));
      }
    } finally {
      raw.disconnect();
    }
  });

  it('reads new entries with their message and trace context', async () => {
    const c = consumer('c1');
    await c.ensureGroups();
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const id = await producer.enqueue(lo, { id: 't1', doc_id: 'd1' }, { traceparent, tracestate: 'k=v' });
    const got = await c.read();
    expect(got).toHaveLength(1);
    expect(got[0]).toMatchObject({
      stream: lo,
      id,
      message: '{"id": "t1", "doc_id": "d1"}',
      traceparent,
      tracestate: 'k=v',
      deliveries: 1,
      fields: { message: '{"id": "t1", "doc_id": "d1"}', traceparent, tracestate: 'k=v' },
    });
    expect(got[0]!.claimedFrom).toBeUndefined();
    expect(await c.read()).toEqual([]);
    expect(c.counters.delivered).toBe(1);
  });

  it('drains the high-priority stream before the low one', async () => {
    const c = consumer('c1', { batchSize: 2 });
    await c.ensureGroups();
    await producer.enqueue(lo, { id: 'low-1' });
    await producer.enqueue(lo, { id: 'low-2' });
    await producer.enqueue(hi, { id: 'high-1' });
    await producer.enqueue(hi, { id: 'high-2' });
    await producer.enqueue(hi, { id: 'high-3' });
    const order: string[] = [];
    for (let i = 0; i < 4; i++) order.push(...ids(await c.read()));
    expect(order).toEqual(['high-1', 'high-2', 'high-3', 'low-1', 'low-2']);
  });

  it('a blocking read wakes up for an entry added while it waits', async () => {
    const c = consumer('c1', { blockMs: 2000 });
    await c.ensureGroups();
    const pending = c.read();
    await sleep(100);
    await producer.enqueue(lo, { id: 'late' });
    const started = Date.now();
    expect(ids(await pending)).toEqual(['late']);
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it('after a restart, re-reads its own unacked entries first (priority order), then new ones', async () => {
    const first = consumer('bridge_0');
    await first.ensureGroups();
    await producer.enqueue(lo, { id: 'a' });
    await producer.enqueue(hi, { id: 'b' });
    expect(ids(await first.read())).toEqual(['b']);
    expect(ids(await first.read())).toEqual(['a']);
    first.close(); // "crash": nothing acked
    await producer.enqueue(lo, { id: 'c' });

    const second = consumer('bridge_0');
    const replayed = await second.read();
    expect(ids(replayed)).toEqual(['b']);
    expect(replayed[0]!.deliveries).toBe(2);
    expect(ids(await second.read())).toEqual(['a']);
    expect(ids(await second.read())).toEqual(['c']);
    expect(second.counters.replayed).toBe(2);

    // replayPending() runs the replay again on demand; acked entries no longer come back
    await second.ack(replayed[0]!);
    second.replayPending();
    // both still pending on the low stream: one page
    expect(ids(await second.read())).toEqual(['a', 'c']);
    expect(await second.read()).toEqual([]);
  });

  it("claims a dead consumer's entries once they are idle longer than claimIdleMs", async () => {
    const dead = consumer('dead_0');
    await dead.ensureGroups();
    await producer.enqueue(lo, { id: 'orphan' });
    expect(ids(await dead.read())).toEqual(['orphan']);
    dead.close();

    const alive = consumer('alive_0', { claimIdleMs: 50 });
    await alive.ensureGroups();
    await sleep(80);
    const claimed = await alive.read();
    expect(ids(claimed)).toEqual(['orphan']);
    expect(claimed[0]).toMatchObject({ claimedFrom: 'dead_0', deliveries: 2, stream: lo });
    expect(alive.counters.claimed).toBe(1);

    // held by us and not acked: never handed out twice while in flight
    await sleep(80);
    expect(await alive.read()).toEqual([]);
    await alive.ack(claimed[0]!);
    const stats = await queueStats(redis, lo, GROUP);
    expect(stats.pending).toBe(0);
  });

  it('does not claim entries that are not idle long enough', async () => {
    const busy = consumer('busy_0');
    await busy.ensureGroups();
    await producer.enqueue(lo, { id: 'working' });
    await busy.read();
    const other = consumer('other_0', { claimIdleMs: 60_000 });
    expect(await other.read()).toEqual([]);
  });

  it('acks and skips pending entries whose stream entry was deleted (replay and claim)', async () => {
    const first = consumer('c_0');
    await first.ensureGroups();
    const gone = await producer.enqueue(lo, { id: 'gone' });
    await producer.enqueue(lo, { id: 'kept' });
    const goneToo = await producer.enqueue(hi, { id: 'gone-too' });
    expect(ids(await first.read())).toEqual(['gone-too']);
    expect(ids(await first.read())).toEqual(['gone', 'kept']);
    first.close();
    await redis.xdel(lo, gone);

    const restarted = consumer('c_0');
    expect(ids(await restarted.read())).toEqual(['gone-too']);
    expect(ids(await restarted.read())).toEqual(['kept']);
    expect(restarted.counters.deleted).toBe(1);

    // the other one dies with an entry that is then deleted: XAUTOCLAIM reports it, nothing is handed out
    restarted.close();
    await redis.xdel(hi, goneToo);
    const claimer = consumer('claimer_0', { claimIdleMs: 1 });
    await claimer.ensureGroups();
    await sleep(10);
    const got = await claimer.read();
    expect(ids(got)).toEqual(['kept']);
    expect(claimer.counters.deleted).toBe(1);
    expect((await queueStats(redis, hi, GROUP)).pending).toBe(0);
  });

  it('ack removes the entry from the pending list', async () => {
    const c = consumer('c1');
    await c.ensureGroups();
    await producer.enqueue(lo, { id: 'x' });
    const [entry] = await c.read();
    const before = await queueStats(redis, lo, GROUP);
    expect(before).toMatchObject({ length: 1, pending: 1, lag: 0 });
    expect(before.consumers).toEqual([expect.objectContaining({ name: 'c1', pending: 1 })]);
    await c.ack(entry!);
    const after = await queueStats(redis, lo, GROUP);
    expect(after.pending).toBe(0);
    expect(after.consumers[0]!.pending).toBe(0);
  });

  it('carries on when a stream is deleted while running', async () => {
    const c = consumer('c1');
    await c.ensureGroups();
    await producer.enqueue(lo, { id: 'before' });
    expect(ids(await c.read())).toEqual(['before']);
    await redis.del(lo, hi);
    expect(await c.read()).toEqual([]);
    expect(c.counters.groupsRecreated).toBeGreaterThan(0);
    await producer.enqueue(lo, { id: 'after' });
    expect(ids(await c.read())).toEqual(['after']);
  });

  it('a failing stream throws a QueueError but keeps the state, so the next read goes on', async () => {
    const first = consumer('c_0');
    await first.ensureGroups();
    await producer.enqueue(lo, { id: 'pending-low' });
    expect(ids(await first.read())).toEqual(['pending-low']);
    first.close();

    const c = consumer('c_0');
    await c.ensureGroups();
    await redis.del(hi);
    await redis.set(hi, 'not a stream');
    const err = await c.read().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(QueueError);
    expect((err as QueueError).retryable).toBe(false);
    expect((err as QueueError).message).toMatch(/WRONGTYPE/);

    await redis.del(hi);
    // the high stream is missing now: its group is re-created and the replay of the low stream still happens
    expect(ids(await c.read())).toEqual(['pending-low']);
  });
});

describe('RagflowQueueProducer', () => {
  it('writes exactly one message field holding Python-style JSON, plus trace fields when given', async () => {
    const { redis, prefix, cleanup } = testRedis();
    const raw = rawRedis();
    try {
      const stream = `te.0.common.${rand()}`;
      const id = await new RagflowQueueProducer(redis).enqueue(stream, { id: 'é', n: [1, { k: null }] });
      const id2 = await new RagflowQueueProducer(redis).enqueue(stream, { id: 'x' }, { traceparent: 'tp' });
      expect(await raw.xrange(prefix + stream, '-', '+')).toEqual([
        [id, ['message', '{"id": "\\u00e9", "n": [1, {"k": null}]}']],
        [id2, ['message', '{"id": "x"}', 'traceparent', 'tp']],
      ]);
    } finally {
      raw.disconnect();
      await cleanup();
    }
  });

  it('gives up with a retryable QueueError after its attempts when Redis is unreachable', async () => {
    const { createRedis } = await import('../src/index.js');
    const down = createRedis({ port: 1, maxRetriesPerRequest: 0 });
    try {
      const producer = new RagflowQueueProducer(down, { attempts: 2, retryDelayMs: 5 });
      const err = await producer.enqueue('s', { id: 1 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(QueueError);
      expect((err as QueueError).retryable).toBe(true);
    } finally {
      down.disconnect();
    }
  });
});

describe('cancel flag', () => {
  it('is RAGFlow\'s "<task_id>-cancel" key with a TTL', async () => {
    const { redis, cleanup } = testRedis();
    try {
      const taskId = rand();
      expect(await isCancelled(redis, taskId)).toBe(false);
      await cancelTask(redis, taskId);
      expect(await isCancelled(redis, taskId)).toBe(true);
      expect(await redis.get(`${taskId}-cancel`)).toBe('x');
      const ttl = await redis.ttl(`${taskId}-cancel`);
      expect(ttl).toBeGreaterThan(3590);
      expect(ttl).toBeLessThanOrEqual(3600);
      // RAGFlow's check is Python truthiness: an empty value is not a cancel
      await redis.set(`${taskId}-cancel`, '');
      expect(await isCancelled(redis, taskId)).toBe(false);
    } finally {
      await cleanup();
    }
  });
});

describe('queueStats', () => {
  it('reports zeros for a missing stream and lag for undelivered entries', async () => {
    const { redis, cleanup } = testRedis();
    try {
      const stream = `s.${rand()}`;
      expect(await queueStats(redis, stream, GROUP)).toEqual({ length: 0, pending: 0, lag: 0, consumers: [] });
      const producer = new RagflowQueueProducer(redis);
      await producer.enqueue(stream, { id: 1 });
      expect(await queueStats(redis, stream, GROUP)).toEqual({ length: 1, pending: 0, lag: null, consumers: [] });
      const c = new RagflowQueueConsumer(redis, { streams: [stream], consumer: 'c', blockMs: 10 });
      await c.ensureGroups();
      await producer.enqueue(stream, { id: 2 });
      expect(await queueStats(redis, stream, GROUP)).toMatchObject({ length: 2, pending: 0, lag: 2 });
      await c.read();
      expect(await queueStats(redis, stream, GROUP)).toMatchObject({ length: 2, pending: 2, lag: 0 });
      c.close();
    } finally {
      await cleanup();
    }
  });
});
