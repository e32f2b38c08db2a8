import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { ProgressEvent } from '@ragline/contracts';
import { createLogger } from '@ragline/telemetry';
import { describe, expect, it } from 'vitest';
import { Publisher, RetryableError, consumerLag, runBatchConsumer, runConsumer } from '../src/index.js';
import { logger, onEvents, perTestCleanup, progress, telemetry, waitFor as waitEvery } from './helpers.js';

const { cleanups, setup } = perTestCleanup();
const waitFor = (cond: () => boolean | Promise<boolean>, ms = 10_000) => waitEvery(cond, ms, 25);

function capturingLogger() {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger({ service: 'bus-test', level: 'warn', destination: { write: (s: string) => void lines.push(JSON.parse(s)) } });
  return { lines, log };
}

/** A subject no stream captures: every JetStream publish to it fails (no responders). */
const nowhere = () => `nowhere.${randomBytes(4).toString('hex')}`;

describe('runBatchConsumer retries', () => {
  it('honours the Retry-After a retryable error carries instead of its back-off', async () => {
    const t = await setup();
    const pub = new Publisher(t.nc);
    const at: number[] = [];
    const bc = runBatchConsumer({
      ...onEvents(t),
      dlqSubject: t.names.subjects.dlq('monitor'),
      logger,
      // without Retry-After the redelivery would come after 10 ms
      retryBaseMs: 10,
      handler: async (items) => {
        at.push(Date.now());
        if (items[0]!.deliveryCount === 1) throw new RetryableError('rate limited', 3000);
      },
    });
    cleanups.push(() => bc.stop(500));
    await pub.publish(t.names.subjects.progress, ProgressEvent, progress('t1', 'r'), { msgID: 'r1', taskId: 't1' });
    await waitFor(() => bc.stats.done === 1);
    expect(at).toHaveLength(2);
    expect(at[1]! - at[0]!).toBeGreaterThanOrEqual(2900);
    expect(at[1]! - at[0]!).toBeLessThan(8000);
  });

  it('without Retry-After uses its own exponential back-off (retryBaseMs)', async () => {
    const t = await setup();
    const pub = new Publisher(t.nc);
    const at: number[] = [];
    const bc = runBatchConsumer({
      ...onEvents(t),
      dlqSubject: t.names.subjects.dlq('monitor'),
      logger,
      retryBaseMs: 400,
      handler: async (items) => {
        at.push(Date.now());
        if ((items[0]!.deliveryCount ?? 0) < 3) throw new RetryableError('busy');
      },
    });
    cleanups.push(() => bc.stop(500));
    await pub.publish(t.names.subjects.progress, ProgressEvent, progress('t1', 'b'), { msgID: 'b1', taskId: 't1' });
    await waitFor(() => bc.stats.done === 1);
    expect(at).toHaveLength(3);
    expect(at[1]! - at[0]!).toBeGreaterThanOrEqual(350);
    expect(at[2]! - at[1]!).toBeGreaterThanOrEqual(750);
  });
});

describe('runBatchConsumer holding messages', () => {
  it('sends in-progress acks: a batch taking three ack waits is not redelivered to another replica', async () => {
    const t = await setup({ ackWaitMs: 1500 });
    const pub = new Publisher(t.nc);
    for (let i = 0; i < 3; i++) await pub.publish(t.names.subjects.progress, ProgressEvent, progress(`t${i}`, `m${i}`), { msgID: `w${i}`, taskId: `t${i}` });
    const deliveries: number[] = [];
    const replica = (slowMs: number) =>
      runBatchConsumer({
        ...onEvents(t),
        dlqSubject: t.names.subjects.dlq('monitor'),
        logger,
        handler: async (items) => {
          for (const i of items) deliveries.push(i.deliveryCount!);
          await sleep(slowMs);
        },
      });
    const slow = replica(4500);
    cleanups.push(() => slow.stop(1000));
    await waitFor(() => deliveries.length === 3);
    // a second replica on the same durable would get any message whose ack wait ran out
    const other = replica(0);
    cleanups.push(() => other.stop(1000));
    await waitFor(() => slow.stats.done === 3, 15_000);
    await sleep(500);
    expect(deliveries).toEqual([1, 1, 1]);
    expect(other.stats.done).toBe(0);
    const lag = await consumerLag(t.jsm, t.names.streams.events, t.names.consumers.monitorEvents);
    expect(lag.pending + lag.ackPending).toBe(0);
  });

  it('on stop aborts the handler and hands back every held message at once, not after the ack wait', async () => {
    // ack wait 30 s: a message that is only left to expire would not be back within the test
    const t = await setup({ ackWaitMs: 30_000 });
    const pub = new Publisher(t.nc);
    for (let i = 0; i < 3; i++) await pub.publish(t.names.subjects.progress, ProgressEvent, progress(`t${i}`, `h${i}`), { msgID: `h${i}`, taskId: `t${i}` });
    let held = 0;
    let aborted = false;
    const slow = runBatchConsumer({
      ...onEvents(t),
      dlqSubject: t.names.subjects.dlq('monitor'),
      logger,
      handler: async (items, ctx) => {
        held += items.length;
        await new Promise((r) => ctx.signal.addEventListener('abort', r));
        aborted = true;
        throw new Error('aborted');
      },
    });
    await waitFor(() => held === 3);
    const stoppedAt = Date.now();
    await slow.stop(200);
    expect(aborted).toBe(true);
    const got: { msg: string; delivery?: number }[] = [];
    const other = runBatchConsumer({
      ...onEvents(t),
      dlqSubject: t.names.subjects.dlq('monitor'),
      logger,
      handler: async (items) => {
        for (const i of items) got.push({ msg: i.msg.msg, delivery: i.deliveryCount });
      },
    });
    cleanups.push(() => other.stop(500));
    await waitFor(() => got.length === 3, 10_000);
    expect(Date.now() - stoppedAt).toBeLessThan(10_000);
    expect(got.map((g) => g.msg).sort()).toEqual(['h0', 'h1', 'h2']);
    expect(got.map((g) => g.delivery)).toEqual([2, 2, 2]);
    expect(slow.stats).toMatchObject({ done: 0, deadLettered: 0 });
  });

  it('waits the documented 250 ms for a batch to fill, not the 1 s client minimum', async () => {
    const t = await setup();
    const pub = new Publisher(t.nc);
    const calls: { at: number; size: number }[] = [];
    const bc = runBatchConsumer({
      ...onEvents(t),
      dlqSubject: t.names.subjects.dlq('monitor'),
      logger,
      handler: async (items) => {
        calls.push({ at: Date.now(), size: items.length });
      },
    });
    cleanups.push(() => bc.stop(500));
    // give the loop time to be waiting for a first message
    await sleep(1200);
    const latencies: number[] = [];
    for (let round = 0; round < 4; round++) {
      const before = calls.length;
      const t0 = Date.now();
      await pub.publish(t.names.subjects.progress, ProgressEvent, progress(`t${round}`, 'a'), { msgID: `f${round}a` });
      await sleep(80);
      // a second message inside the wait joins the same batch
      await pub.publish(t.names.subjects.progress, ProgressEvent, progress(`t${round}`, 'b'), { msgID: `f${round}b` });
      await waitFor(() => calls.length > before && calls.slice(before).reduce((a, c) => a + c.size, 0) === 2, 5000);
      latencies.push(calls[before]!.at - t0);
      expect(calls[before]!.size).toBe(2);
      await sleep(300);
    }
    expect(Math.max(...latencies)).toBeLessThan(800);
  });
});

describe('dead-letter publish failures', () => {
  it('runConsumer: an invalid message whose dead letter cannot be published is logged, nak-ed and tried again, not lost', async () => {
    const t = await setup();
    const pub = new Publisher(t.nc);
    const { lines, log } = capturingLogger();
    let handled = 0;
    const rc = runConsumer({
      ...onEvents(t),
      concurrency: 1,
      dlqSubject: nowhere(),
      logger: log,
      tracer: telemetry.tracer,
      retryBaseMs: 50,
      handler: async () => {
        handled++;
      },
    });
    cleanups.push(() => rc.stop(500));
    await pub.publishRaw(t.names.subjects.progress, new TextEncoder().encode('not json'), { msgID: 'inv', taskId: 'tx' });
    const failures = () => lines.filter((l) => l.msg === 'dead-letter publish failed');
    await waitFor(() => failures().length >= 2, 20_000);
    await rc.stop(500);
    expect(failures()[0]).toMatchObject({ level: 'error', task_id: 'tx', deliveries: 1, cause: { message: expect.stringMatching(/^invalid message on /) } });
    expect(failures()[1]).toMatchObject({ deliveries: 2 });
    // the failure is the dead letter's, not reported as a handler failure to retry
    expect(lines.filter((l) => l.msg === 'handler failed, will retry')).toHaveLength(0);
    expect(rc.stats.deadLettered).toBe(0);
    expect(handled).toBe(0);
    const lag = await consumerLag(t.jsm, t.names.streams.events, t.names.consumers.monitorEvents);
    expect(lag.streamMessages).toBe(1);
  });

  it('runBatchConsumer: the same for an invalid message in a batch; the valid ones are applied', async () => {
    const t = await setup();
    const pub = new Publisher(t.nc);
    const { lines, log } = capturingLogger();
    const applied: string[] = [];
    const bc = runBatchConsumer({
      ...onEvents(t),
      dlqSubject: nowhere(),
      logger: log,
      retryBaseMs: 50,
      handler: async (items) => {
        for (const i of items) applied.push(i.msg.msg);
      },
    });
    cleanups.push(() => bc.stop(500));
    await pub.publish(t.names.subjects.progress, ProgressEvent, progress('t1', 'ok'), { msgID: 'ok', taskId: 't1' });
    await pub.publishRaw(t.names.subjects.progress, new TextEncoder().encode('{"v":1}'), { msgID: 'inv', taskId: 'tx' });
    const failures = () => lines.filter((l) => l.msg === 'dead-letter publish failed');
    await waitFor(() => failures().length >= 2, 20_000);
    await bc.stop(500);
    expect(applied).toEqual(['ok']);
    expect(failures().map((l) => l.deliveries).slice(0, 2)).toEqual([1, 2]);
    expect(bc.stats.deadLettered).toBe(0);
    const lag = await consumerLag(t.jsm, t.names.streams.events, t.names.consumers.monitorEvents);
    expect(lag.streamMessages).toBe(1);
  });
});
