import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Publisher, connectNats, deleteTopology, type JsMsg, type NatsConnection } from '@ragline/bus';
import { CommonEnv, loadConfig, privateStack } from '@ragline/config';
import { DeadLetter, PipelineEvent, TaskMessage, topologyNames } from '@ragline/contracts';
import { createRedis } from '@ragline/redis-queue';
import type { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startRuntime, type StageRuntime } from '../src/runtime/index.js';
import { REDIS_DB, deletePrefixedKeys, rand, testTask, testTaskMessage } from './support/stage-env.js';

/**
 * The runtime's own registration into the shutdown phases, and its drain on real NATS and Redis:
 * the consumer stops before the connections it uses close, so in-flight work can still check
 * cancel flags and ack, and what does not finish within the grace period is handed back at once.
 */

// startRuntime installs process handlers (signals, fatal errors, diagnostics): take ours off the worker again
const EVENTS = ['SIGTERM', 'SIGINT', 'SIGUSR1', 'SIGUSR2', 'uncaughtException', 'unhandledRejection'] as const;
let before: Map<string, unknown[]>;
let cleanups: (() => Promise<void>)[] = [];
beforeEach(() => {
  before = new Map(EVENTS.map((e) => [e, process.listeners(e as NodeJS.Signals)]));
  cleanups = [];
});
afterEach(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
  for (const e of EVENTS) for (const l of process.listeners(e as NodeJS.Signals)) if (!before.get(e)!.includes(l)) process.off(e, l as never);
});

async function world(stage: 'parser' | 'monitor', more: Record<string, string> = {}) {
  const id = rand();
  const dataDir = await mkdtemp(join(tmpdir(), `ragline-rt-${id}-`));
  const stack = privateStack({ tag: 'rt', id, dataDir, redisDb: REDIS_DB, logLevel: 'silent' });
  const cfg = loadConfig(CommonEnv, { ...stack.env, ...more });
  const names = topologyNames(cfg.RAGLINE_SUBJECT_PREFIX, cfg.RAGLINE_STREAM_PREFIX);
  let exited!: (code: number) => void;
  const exit = new Promise<number>((r) => (exited = r));
  const rt = await startRuntime(stage, cfg, { exit: (code) => exited(code) });
  // the test's own connections, which outlive the runtime's
  const nc: NatsConnection = await connectNats({ url: cfg.NATS_URL, name: `rt-test-${id}` });
  const redis: Redis = createRedis({ url: cfg.REDIS_URL, keyPrefix: cfg.REDIS_KEY_PREFIX });
  cleanups.push(async () => {
    // a test that failed before its drain: run it now so nothing keeps pulling
    await rt.shutdown('cleanup');
    await deleteTopology(nc, names);
    await nc.close();
    await deletePrefixedKeys(redis, cfg.REDIS_KEY_PREFIX);
    redis.disconnect();
    await rm(dataDir, { recursive: true, force: true });
  });
  return { rt, cfg, names, nc, redis, exit };
}

const taskMessage = (name: string): TaskMessage => testTaskMessage(testTask(name));

async function until<T>(what: string, fn: () => T | undefined | Promise<T | undefined>, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const v = await fn();
    if (v !== undefined) return v;
    await sleep(25);
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('startRuntime shutdown phases', () => {
  it("registers the runtime's parts and the stage's consumer each in its phase", async () => {
    const { rt } = await world('parser');
    rt.runStage({ schema: TaskMessage, concurrency: 1, handler: async () => undefined });
    rt.onShutdown('close', 'docstore', async () => undefined);
    expect(rt.lifecycle.plan()).toEqual([
      { phase: 'intake', steps: ['consumer parser'] },
      { phase: 'in-flight', steps: ['consumer parser'] },
      { phase: 'close', steps: ['heartbeat', 'health server', 'diagnostics', 'dependency gate', 'docstore'] },
      { phase: 'drain', steps: ['nats', 'redis'] },
      { phase: 'telemetry', steps: ['telemetry'] },
    ]);
  });

  it("the monitor's two batch inputs: both consumers, one gate, the heartbeat from the events input", async () => {
    const { rt, names } = await world('monitor');
    const gate = rt.dependencyGate();
    const events = rt.runBatchStage({ schema: PipelineEvent, gate, handler: async () => undefined });
    const dlq = rt.runBatchStage({ input: 'dead-letters', schema: DeadLetter, gate, handler: async () => undefined });
    expect(events.gate).toBe(dlq.gate);
    expect(rt.lifecycle.plan().slice(0, 3)).toEqual([
      { phase: 'intake', steps: [`consumer ${names.consumers.monitorEvents}`, `consumer ${names.consumers.monitorDlq}`] },
      { phase: 'in-flight', steps: [`consumer ${names.consumers.monitorEvents}`, `consumer ${names.consumers.monitorDlq}`] },
      { phase: 'close', steps: ['heartbeat', 'health server', 'diagnostics', 'dependency gate'] },
    ]);
    // one heartbeat per process: the dead-letter input did not start a second
    expect(() => rt.startHeartbeat(() => ({ done: 0, failed: 0, current: {} }))).toThrow('already started');
  });

  it('drain: a handler finishing within the grace still checks Redis and is acked; a stuck one is handed back at once; then connections close', async () => {
    // an ack wait far beyond the test: a message that comes back did so because it was nak'ed
    const { rt, names, nc, exit } = await world('parser', { SHUTDOWN_GRACE_MS: '600', NATS_ACK_WAIT_MS: '60000' });
    const events: string[] = [];
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    const started = new Set<string>();
    rt.runStage({
      schema: TaskMessage,
      concurrency: 2,
      handler: async (msg) => {
        started.add(msg.task.doc_name);
        if (msg.task.doc_name === 'stuck.txt') return new Promise<void>(() => undefined);
        await released;
        // what the parser does before each unit of work: the cancel flag, in Redis
        const flag = await rt.redis.get(`${msg.task.task_id}-cancel`);
        events.push(`quick handler checked cancel (${String(flag)})`);
      },
    });
    rt.onShutdown('close', 'probe', () => void events.push(`close phase: nats closed ${rt.nc.isClosed()}, redis ${rt.redis.status}`));
    for (const name of ['quick.txt', 'stuck.txt']) {
      const m = taskMessage(name);
      await rt.publisher.publish(names.subjects.tasks, TaskMessage, m, { msgID: `task.${m.task.task_id}`, taskId: m.task.task_id, docId: m.task.doc_id });
    }
    await until('both messages in hand', () => (started.size === 2 ? true : undefined));

    const t0 = Date.now();
    const drained = rt.shutdown('test');
    // the consumer has stopped pulling; the quick handler finishes inside the grace period
    await sleep(100);
    release();
    await drained;
    expect(await exit).toBe(0);
    const tookMs = Date.now() - t0;
    expect(events).toEqual(['quick handler checked cancel (null)', 'close phase: nats closed false, redis ready']);
    expect(rt.nc.isClosed()).toBe(true);
    expect(rt.redis.status).toBe('end');
    // grace (600 ms) plus the consumer's 2 s wait for a handler that ignores the abort
    expect(tookMs).toBeLessThan(4500);

    // the stuck message is back now, not after the 60 s ack wait; the quick one was acked
    const { js } = new Publisher(nc);
    const consumer = await js.consumers.get(names.streams.tasks, names.consumers.parser);
    const back: JsMsg[] = [];
    const tBack = Date.now();
    while (Date.now() - tBack < 3000) {
      const m = await consumer.next({ expires: 1000 });
      if (!m) continue;
      back.push(m);
      m.ack();
      if (back.length === 1) break;
    }
    expect(back.map((m) => TaskMessage.parse(m.json()).task.doc_name)).toEqual(['stuck.txt']);
    expect(back[0]!.info.deliveryCount).toBe(2);
    expect(Date.now() - t0).toBeLessThan(10_000);
    await sleep(300);
    const info = await (await js.jetstreamManager()).consumers.info(names.streams.tasks, names.consumers.parser);
    expect(info.num_pending + info.num_ack_pending).toBe(0);
  });
});
