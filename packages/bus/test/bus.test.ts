import { setTimeout as sleep } from 'node:timers/promises';
import { jetstream } from '@nats-io/jetstream';
import { DeadLetter, ProgressEvent, decode } from '@ragline/contracts';
import { describe, expect, it } from 'vitest';
import {
  MessageTooLargeError,
  PermanentError,
  Publisher,
  RetryableError,
  TaskStateStore,
  consumerLag,
  ensureTopology,
  isTaskComplete,
  runBatchConsumer,
  runConsumer,
} from '../src/index.js';
import { logger, onEvents, perTestCleanup, progress, telemetry, waitFor } from './helpers.js';

const { cleanups, setup } = perTestCleanup();

async function readDlq(nc: Parameters<typeof jetstream>[0], stream: string) {
  const js = jetstream(nc);
  const c = await js.consumers.get(stream);
  const out: ReturnType<typeof decode<typeof DeadLetter>>[] = [];
  const iter = await c.fetch({ max_messages: 10, expires: 1000 });
  for await (const m of iter) out.push(decode(DeadLetter, m.data));
  return out;
}

describe('topology', () => {
  it('is idempotent and updates limits in place', async () => {
    const t = await setup();
    await ensureTopology(t.nc, t.names);
    await ensureTopology(t.nc, t.names, { maxAckPending: { embedder: 17 } });
    const ci = await t.jsm.consumers.info(t.names.streams.chunks, t.names.consumers.embedder);
    expect(ci.config.max_ack_pending).toBe(17);
    const si = await t.jsm.streams.info(t.names.streams.tasks);
    expect(si.config.retention).toBe('workqueue');
  });

  it('carries both chunk hops in the chunks stream, each to its own consumer, and upgrades a stream without the enrich subject', async () => {
    const t = await setup();
    // a chunks stream as deployments before the enricher have it
    await t.jsm.consumers.delete(t.names.streams.chunks, t.names.consumers.enricher);
    await t.jsm.streams.update(t.names.streams.chunks, { subjects: [t.names.subjects.chunks] });
    await ensureTopology(t.nc, t.names);
    const si = await t.jsm.streams.info(t.names.streams.chunks);
    expect(si.config.subjects.sort()).toEqual([t.names.subjects.enrich, t.names.subjects.chunks].sort());
    const enricher = await t.jsm.consumers.info(t.names.streams.chunks, t.names.consumers.enricher);
    expect(enricher.config.filter_subject).toBe(t.names.subjects.enrich);

    const js = jetstream(t.nc);
    // the same batch under each hop's id: both are kept (one dedupe window for the stream)
    await js.publish(t.names.subjects.enrich, 'e', { msgID: 'enrich.t.0' });
    await js.publish(t.names.subjects.chunks, 'c', { msgID: 'chunks.t.0' });
    await waitFor(async () => (await t.jsm.consumers.info(t.names.streams.chunks, t.names.consumers.enricher)).num_pending === 1, 5000);
    const embedder = await t.jsm.consumers.info(t.names.streams.chunks, t.names.consumers.embedder);
    expect(embedder.num_pending).toBe(1);
  });
});

describe('ack wait', () => {
  it('follows ackWaitMs: a live worker keeps its message past the ack wait, a dead one loses it after it', async () => {
    const t = await setup({ ackWaitMs: 1500 });
    const ci = await t.jsm.consumers.info(t.names.streams.chunks, t.names.consumers.embedder);
    expect(ci.config.ack_wait).toBe(1500 * 1e6);
    // the monitor's consumers cap theirs at 30 s but follow a shorter setting
    const ev = await t.jsm.consumers.info(t.names.streams.events, t.names.consumers.monitorEvents);
    expect(ev.config.ack_wait).toBe(1500 * 1e6);

    const pub = new Publisher(t.nc);
    const deliveries: number[] = [];
    const slow = runConsumer({
      ...onEvents(t),
      concurrency: 1,
      dlqSubject: t.names.subjects.dlq('monitor'),
      logger,
      tracer: telemetry.tracer,
      handler: async (_m, ctx) => {
        deliveries.push(ctx.deliveryCount);
        // three ack waits long: only in-progress acks keep it from being redelivered
        await sleep(4500);
      },
    });
    await pub.publish(t.names.subjects.progress, ProgressEvent, progress('t1', 'slow'), { msgID: 's1', taskId: 't1' });
    await waitFor(() => slow.stats.done === 1, 10_000);
    await slow.stop(1000);
    expect(deliveries).toEqual([1]);

    // a message pulled and never settled (its holder died) is delivered again once the ack wait passes
    await pub.publish(t.names.subjects.progress, ProgressEvent, progress('t2', 'orphan'), { msgID: 's2', taskId: 't2' });
    const c = await jetstream(t.nc).consumers.get(t.names.streams.events, t.names.consumers.monitorEvents);
    const first = await c.next({ expires: 2000 });
    expect(first?.info.deliveryCount).toBe(1);
    const pulledAt = Date.now();
    const again = await c.next({ expires: 5000 });
    expect(again?.info.deliveryCount).toBe(2);
    expect(Date.now() - pulledAt).toBeGreaterThanOrEqual(1000);
    again!.ack();
  });
});

describe('publish', () => {
  it('validates, deduplicates by msgID and refuses oversize messages', async () => {
    const t = await setup();
    const pub = new Publisher(t.nc);
    const a = await pub.publish(t.names.subjects.progress, ProgressEvent, progress('t1', 'x'), { msgID: 'm1', taskId: 't1' });
    const b = await pub.publish(t.names.subjects.progress, ProgressEvent, progress('t1', 'x'), { msgID: 'm1', taskId: 't1' });
    expect(a.duplicate).toBe(false);
    expect(b.duplicate).toBe(true);
    await expect(pub.publish(t.names.subjects.progress, ProgressEvent, { ...progress('t1', 'x'), progress: 7 }, { msgID: 'm2' })).rejects.toThrow(/progress/);
    const huge = new Uint8Array(pub.maxPayload + 10);
    await expect(pub.publishRaw(t.names.subjects.progress, huge, { msgID: 'm3' })).rejects.toBeInstanceOf(MessageTooLargeError);
    const lag = await consumerLag(t.jsm, t.names.streams.events, t.names.consumers.monitorEvents);
    expect(lag.pending).toBe(1);
  });
});

describe('runConsumer', () => {
  it('retries retryable errors, dead-letters permanent ones and invalid messages', async () => {
    const t = await setup();
    const pub = new Publisher(t.nc);
    const seen: Record<string, number> = {};
    const rc = runConsumer({
      ...onEvents(t),
      concurrency: 2,
      dlqSubject: t.names.subjects.dlq('monitor'),
      logger,
      tracer: telemetry.tracer,
      retryBaseMs: 20,
      handler: async (m) => {
        seen[m.msg] = (seen[m.msg] ?? 0) + 1;
        if (m.msg === 'flaky' && seen[m.msg]! < 3) throw new RetryableError('try later');
        if (m.msg === 'bad') throw new PermanentError('cannot ever work');
      },
    });
    await pub.publish(t.names.subjects.progress, ProgressEvent, progress('t1', 'flaky'), { msgID: 'a', taskId: 't1' });
    await pub.publish(t.names.subjects.progress, ProgressEvent, progress('t2', 'bad'), { msgID: 'b', taskId: 't2', docId: 'd2' });
    await pub.publishRaw(t.names.subjects.progress, new TextEncoder().encode('{"v":1,"kind":"progress"}'), { msgID: 'c', taskId: 't3' });
    await waitFor(() => rc.stats.done === 1 && rc.stats.deadLettered === 2);
    expect(seen.flaky).toBe(3);
    expect(seen.bad).toBe(1);
    await rc.stop(1000);
    const dl = await readDlq(t.nc, t.names.streams.dlq);
    expect(dl.map((d) => d.task_id).sort()).toEqual(['t2', 't3']);
    const bad = dl.find((d) => d.task_id === 't2')!;
    expect(bad.error).toMatchObject({ name: 'PermanentError', message: 'cannot ever work', retryable: false });
    expect(bad.doc_id).toBe('d2');
    expect(decode(ProgressEvent, Buffer.from(bad.data_b64, 'base64')).msg).toBe('bad');
    expect(dl.find((d) => d.task_id === 't3')!.error.message).toMatch(/^invalid message on \S+\.events\.progress: /);
  });

  it('terminates dead-lettered messages for good: no redelivery after the ack wait, nothing left in the work queue', async () => {
    const t = await setup({ ackWaitMs: 1000 });
    const pub = new Publisher(t.nc);
    let calls = 0;
    const rc = runConsumer({
      ...onEvents(t),
      dlqSubject: t.names.subjects.dlq('monitor'),
      logger,
      tracer: telemetry.tracer,
      handler: async () => {
        calls++;
        throw new PermanentError('never works');
      },
    });
    cleanups.push(() => rc.stop(1000));
    await pub.publish(t.names.subjects.progress, ProgressEvent, progress('t7', 'x'), { msgID: 'p', taskId: 't7' });
    await pub.publishRaw(t.names.subjects.progress, new TextEncoder().encode('not json'), { msgID: 'q', taskId: 't8' });
    await waitFor(() => rc.stats.deadLettered === 2);
    // well past the 1 s ack wait: a message that was not really terminated would be back by now
    await sleep(3000);
    expect(calls).toBe(1);
    expect(rc.stats.deadLettered).toBe(2);
    const lag = await consumerLag(t.jsm, t.names.streams.events, t.names.consumers.monitorEvents);
    expect(lag).toMatchObject({ pending: 0, ackPending: 0, streamMessages: 0 });
  });

  it('dead-letters after max deliveries', async () => {
    const t = await setup({ maxDeliver: 2 });
    const pub = new Publisher(t.nc);
    let calls = 0;
    const rc = runConsumer({
      ...onEvents(t),
      maxDeliver: 2,
      dlqSubject: t.names.subjects.dlq('monitor'),
      logger,
      tracer: telemetry.tracer,
      retryBaseMs: 10,
      handler: async () => {
        calls++;
        throw new Error('always broken');
      },
    });
    await pub.publish(t.names.subjects.progress, ProgressEvent, progress('t9', 'x'), { msgID: 'z', taskId: 't9' });
    await waitFor(() => rc.stats.deadLettered === 1);
    await rc.stop(1000);
    expect(calls).toBe(2);
    const [dl] = await readDlq(t.nc, t.names.streams.dlq);
    expect(dl!.deliveries).toBe(2);
    expect(dl!.error.message).toBe('always broken');
  });

  it('handles a message that arrives while it stops instead of bouncing it between its open pulls until max_deliver strands it', async () => {
    const t = await setup({ maxDeliver: 3 });
    const pub = new Publisher(t.nc);
    const deliveries: number[] = [];
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    // eight workers: one busy (so stop waits), seven with pulls open when the message arrives
    const stopping = runConsumer({
      ...onEvents(t),
      concurrency: 8,
      maxDeliver: 3,
      dlqSubject: t.names.subjects.dlq('monitor'),
      logger,
      tracer: telemetry.tracer,
      pullExpiresMs: 5000,
      handler: async (m, ctx) => {
        deliveries.push(ctx.deliveryCount);
        if (m.msg === 'busy') await held;
      },
    });
    await pub.publish(t.names.subjects.progress, ProgressEvent, progress('t1', 'busy'), { msgID: 'busy', taskId: 't1' });
    await waitFor(() => deliveries.length === 1);
    const stopped = stopping.stop(10_000);
    await pub.publish(t.names.subjects.progress, ProgressEvent, progress('t2', 'late'), { msgID: 'late', taskId: 't2' });
    await waitFor(() => deliveries.length === 2);
    release();
    await stopped;
    // handled once, on its first delivery, and gone from the stream
    expect(deliveries).toEqual([1, 1]);
    await waitFor(async () => (await consumerLag(t.jsm, t.names.streams.events, t.names.consumers.monitorEvents)).streamMessages === 0);
  });

  it('on stop hands unfinished work back for another replica', async () => {
    const t = await setup();
    const pub = new Publisher(t.nc);
    const started: string[] = [];
    const slow = runConsumer({
      ...onEvents(t),
      concurrency: 1,
      dlqSubject: t.names.subjects.dlq('monitor'),
      logger,
      tracer: telemetry.tracer,
      handler: async (m, ctx) => {
        started.push(m.msg);
        await new Promise((r) => ctx.signal.addEventListener('abort', r));
        throw new Error('aborted');
      },
    });
    await pub.publish(t.names.subjects.progress, ProgressEvent, progress('t1', 'long'), { msgID: 'l', taskId: 't1' });
    await waitFor(() => started.length === 1);
    await slow.stop(200);
    const handled: string[] = [];
    const other = runConsumer({
      ...onEvents(t),
      dlqSubject: t.names.subjects.dlq('monitor'),
      logger,
      tracer: telemetry.tracer,
      handler: async (m) => {
        handled.push(m.msg);
      },
    });
    await waitFor(() => handled.length === 1);
    await other.stop(500);
    expect(handled).toEqual(['long']);
    expect(slow.stats.deadLettered).toBe(0);
  });
});

describe('runBatchConsumer', () => {
  it('hands several messages to one handler call', async () => {
    const t = await setup();
    const pub = new Publisher(t.nc);
    for (let i = 0; i < 20; i++) await pub.publish(t.names.subjects.progress, ProgressEvent, progress(`t${i}`, `m${i}`), { msgID: `b${i}` });
    const sizes: number[] = [];
    const bc = runBatchConsumer({
      ...onEvents(t),
      dlqSubject: t.names.subjects.dlq('monitor'),
      logger,
      handler: async (items) => {
        sizes.push(items.length);
      },
    });
    await waitFor(() => sizes.reduce((a, b) => a + b, 0) === 20);
    await bc.stop(2000);
    expect(Math.max(...sizes)).toBeGreaterThan(1);
  });
});

describe('runBatchConsumer without a dead-letter subject (the DLQ consumer)', () => {
  it('logs and terminates an invalid dead letter and one it cannot apply, instead of retrying them', async () => {
    // an ack wait with room for a loaded machine: a handler slower than it would be redelivered
    const t = await setup({ ackWaitMs: 2500, maxDeliver: 2 });
    const pub = new Publisher(t.nc);
    const dead: DeadLetter = {
      v: 1,
      kind: 'dead_letter',
      stage: 'parser',
      subject: 'x',
      stream_seq: 1,
      deliveries: 1,
      error: { name: 'Error', message: 'boom', retryable: false },
      task_id: 't1',
      doc_id: 'd1',
      data_b64: '',
      headers: {},
      at: Date.now(),
    };
    await pub.publishRaw(t.names.subjects.dlq('parser'), new TextEncoder().encode('not a dead letter'), { msgID: 'bad', taskId: 't0' });
    await pub.publish(t.names.subjects.dlq('parser'), DeadLetter, dead, { msgID: 'unappliable', taskId: 't1' });
    let calls = 0;
    const bc = runBatchConsumer({
      nc: t.nc,
      stream: t.names.streams.dlq,
      consumer: t.names.consumers.monitorDlq,
      stage: 'monitor',
      schema: DeadLetter,
      dlqSubject: null,
      maxDeliver: 2,
      logger,
      handler: async () => {
        calls++;
        throw new PermanentError('cannot apply');
      },
    });
    cleanups.push(() => bc.stop(1000));
    await waitFor(() => bc.stats.deadLettered === 2);
    // past the ack wait: nothing comes back, nothing stays pending, and both stay in the stream
    await sleep(4000);
    expect(calls).toBe(1);
    const lag = await consumerLag(t.jsm, t.names.streams.dlq, t.names.consumers.monitorDlq);
    expect(lag).toMatchObject({ pending: 0, ackPending: 0, streamMessages: 2 });
  });
});

describe('runBatchConsumer deferral', () => {
  it('redelivers only the items a handler defers, after its delay, with their delivery count', async () => {
    const t = await setup({ maxDeliver: 3 });
    const pub = new Publisher(t.nc);
    for (const m of ['keep-1', 'wait', 'keep-2']) await pub.publish(t.names.subjects.progress, ProgressEvent, progress(m, m), { msgID: m });
    const seen: { msg: string; delivery?: number; last?: boolean; at: number }[] = [];
    const bc = runBatchConsumer({
      ...onEvents(t),
      maxDeliver: 3,
      dlqSubject: t.names.subjects.dlq('monitor'),
      logger,
      handler: async (items) => {
        for (const i of items) seen.push({ msg: i.msg.msg, delivery: i.deliveryCount, last: i.lastAttempt, at: Date.now() });
        const later = items.filter((i) => i.msg.msg === 'wait' && !i.lastAttempt);
        return later.length ? { later, delayMs: 300 } : undefined;
      },
    });
    await waitFor(() => seen.filter((s) => s.msg === 'wait').length === 3);
    await sleep(500);
    await bc.stop(2000);
    expect(seen.filter((s) => s.msg.startsWith('keep')).map((s) => s.delivery)).toEqual([1, 1]);
    const waits = seen.filter((s) => s.msg === 'wait');
    expect(waits.map((s) => [s.delivery, s.last])).toEqual([[1, false], [2, false], [3, true]]);
    expect(waits[1]!.at - waits[0]!.at).toBeGreaterThanOrEqual(250);
    expect(bc.stats.deadLettered).toBe(0);
    const lag = await consumerLag(t.jsm, t.names.streams.events, t.names.consumers.monitorEvents);
    expect(lag.pending + lag.ackPending).toBe(0);
  });
});

describe('TaskStateStore', () => {
  it('records batches idempotently and completes exactly once under contention', async () => {
    const t = await setup();
    const stores = await Promise.all([1, 2, 3].map(() => TaskStateStore.open(t.nc, t.names.taskStateBucket)));
    const batches = [0, 1, 2, 3, 4, 5];
    await Promise.all(batches.flatMap((b) => stores.map((s) => s.recordBatch('task1', b, 10, 100))));
    let s = await stores[0]!.get('task1');
    expect(s.batches).toEqual(batches);
    expect(s.chunks).toBe(60);
    expect(s.tokens).toBe(600);
    expect(isTaskComplete(s)).toBe(false);
    await stores[1]!.recordManifest('task1', 6, 60);
    s = await stores[2]!.get('task1');
    expect(isTaskComplete(s)).toBe(true);
    const wins = await Promise.all(stores.flatMap((st) => [st.markCompleted('task1'), st.markCompleted('task1')]));
    expect(wins.filter(Boolean)).toHaveLength(1);
  });
});
