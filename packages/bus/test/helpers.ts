import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach } from 'vitest';
import { ProgressEvent, topologyNames, type ProgressEvent as PE, type TopologyNames } from '@ragline/contracts';
import type { NatsConnection } from '@nats-io/transport-node';
import { createLogger, startTelemetry, type Logger } from '@ragline/telemetry';
import { connectNats, deleteTopology, ensureTopology, type TopologyOptions } from '../src/index.js';

export const logger: Logger = createLogger({ service: 'bus-test', level: 'silent' });
export const telemetry = startTelemetry({ serviceName: 'bus-test', env: {} });

/** A private topology (unique prefixes) on the real NATS server, removed afterwards. */
export async function privateTopology(o: TopologyOptions = {}) {
  const id = randomBytes(4).toString('hex');
  const names = topologyNames(`t${id}`, `T${id.toUpperCase()}`);
  const nc = await connectNats({ url: process.env.NATS_URL, name: `bus-test-${id}` });
  const jsm = await ensureTopology(nc, names, o);
  return {
    names,
    nc,
    jsm,
    async cleanup() {
      await deleteTopology(nc, names);
      await nc.close();
    },
  };
}

/** The consumer most tests drive: the monitor's durable on the events stream, progress events. */
export function onEvents(t: { nc: NatsConnection; names: TopologyNames }) {
  return {
    nc: t.nc,
    stream: t.names.streams.events,
    consumer: t.names.consumers.monitorEvents,
    stage: 'monitor' as const,
    schema: ProgressEvent,
  };
}

/**
 * Clean-ups run after each test of the calling file, last first, and `setup()` for a private
 * topology that is one of them. Call at the top level of a test file.
 */
export function perTestCleanup() {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    while (cleanups.length) await cleanups.pop()!();
  });
  return {
    cleanups,
    async setup(o: TopologyOptions = {}) {
      const t = await privateTopology(o);
      cleanups.push(t.cleanup);
      return t;
    },
  };
}

/** A parser progress event of a task, the message most tests send. */
export function progress(taskId: string, msg: string): PE {
  return { v: 1, kind: 'progress', task_id: taskId, doc_id: 'd1', at: Date.now(), stage: 'parser', progress: 0.5, msg, page_range: null };
}

export async function waitFor(cond: () => boolean | Promise<boolean>, ms = 10_000, everyMs = 50): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond()) return;
    await sleep(everyMs);
  }
  throw new Error('condition not met in time');
}
