import { setTimeout as sleep } from 'node:timers/promises';
import { ProgressEvent, type ProgressEvent as PE } from '@ragline/contracts';
import { afterEach, describe, expect, it } from 'vitest';
import { DependencyGate, Publisher, consumerLag, runBatchConsumer, type Dependency } from '../src/index.js';
import { logger, privateTopology, onEvents } from './helpers.js';

class Down extends Error {
  override name = 'Down';
}

/** A dependency whose availability the test switches; the probe fails while it is down. */
function switchable(name: string): Dependency & { up: boolean; probes: number } {
  const dep = {
    name,
    up: true,
    probes: 0,
    isOutage: (err: unknown) => err instanceof Down && err.message === name,
    probe: async () => {
      dep.probes++;
      if (!dep.up) throw new Down(name);
    },
  };
  return dep;
}

async function waitFor(cond: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond()) return;
    await sleep(20);
  }
  throw new Error('condition not met in time');
}

const gates: DependencyGate[] = [];
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const g of gates.splice(0)) g.stop();
  while (cleanups.length) await cleanups.pop()!();
});

function gateOf(deps: Dependency[], changes: string[] = []): DependencyGate {
  const g = new DependencyGate({ dependencies: deps, probeIntervalMs: 30, onChange: (n, up) => changes.push(`${n}:${up ? 'up' : 'down'}`) });
  gates.push(g);
  return g;
}

describe('DependencyGate', () => {
  it('closes on an outage of a dependency and opens again once its probe answers', async () => {
    const db = switchable('mysql');
    const changes: string[] = [];
    const gate = gateOf([db, switchable('redis')], changes);
    expect(gate.canPull()).toBe(true);
    db.up = false;
    expect(gate.observe(new Down('mysql'))).toBe(true);
    expect(gate.canPull()).toBe(false);
    expect(gate.unavailable).toEqual(['mysql']);
    // another failure while down neither restarts nor duplicates the probing
    gate.observe(new Down('mysql'));
    await waitFor(() => db.probes >= 3);
    expect(gate.canPull()).toBe(false);
    db.up = true;
    await waitFor(() => gate.canPull());
    expect(changes).toEqual(['mysql:down', 'mysql:up']);
  });

  it('ignores errors that are not outages of its dependencies', () => {
    const gate = gateOf([switchable('mysql')]);
    expect(gate.observe(new Error('duplicate key'))).toBe(false);
    expect(gate.observe(new Down('object store'))).toBe(false);
    expect(gate.canPull()).toBe(true);
  });

  it('guard passes results and errors through unchanged and reports the errors', async () => {
    const gate = gateOf([switchable('redis')]);
    const guarded = gate.guard(async (x: number) => {
      if (x < 0) throw new Down('redis');
      return x * 2;
    });
    expect(await guarded(21)).toBe(42);
    const err = await guarded(-1).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Down);
    expect(gate.canPull()).toBe(false);
  });

  it('stays closed after stop() (no probing past shutdown)', async () => {
    const db = switchable('mysql');
    const gate = gateOf([db]);
    gate.observe(new Down('mysql'));
    gate.stop();
    const probes = db.probes;
    await sleep(150);
    expect(db.probes).toBe(probes);
    expect(gate.canPull()).toBe(false);
  });
});

function progress(taskId: string): PE {
  return { v: 1, kind: 'progress', task_id: taskId, doc_id: 'd1', at: Date.now(), stage: 'parser', progress: 0.5, msg: taskId, page_range: null };
}

describe('runBatchConsumer with a dependency gate', () => {
  it('uses one delivery per message for an outage, however long, and applies everything once the dependency is back', async () => {
    const t = await privateTopology({ maxDeliver: 3 });
    cleanups.push(t.cleanup);
    const db = switchable('mysql');
    const gate = gateOf([db]);
    const applied = new Map<string, number[]>();
    const attempts: number[] = [];
    db.up = false;
    const pub = new Publisher(t.nc);
    for (let i = 0; i < 5; i++) await pub.publish(t.names.subjects.progress, ProgressEvent, progress(`t${i}`), { msgID: `g${i}` });
    const bc = runBatchConsumer({
      ...onEvents(t),
      maxDeliver: 3,
      dlqSubject: t.names.subjects.dlq('monitor'),
      logger,
      canPull: gate.canPull,
      handler: gate.guard(async (items) => {
        attempts.push(items.length);
        if (!db.up) throw new Down('mysql');
        for (const i of items) applied.set(i.msg.task_id, [...(applied.get(i.msg.task_id) ?? []), i.deliveryCount ?? 0]);
      }),
    });
    cleanups.push(() => bc.stop(2000));
    await waitFor(() => attempts.length >= 1);
    // down for longer than the naks' back-off (1 s, 2 s) would take to use up three deliveries
    await sleep(4000);
    expect(attempts.length, 'no fetch while the gate is closed').toBe(1);
    db.up = true;
    await waitFor(() => applied.size === 5);
    // applied once each, on the delivery after the one the outage failed
    expect([...applied.values()].every((d) => d.length === 1 && d[0]! <= 2)).toBe(true);
    expect(bc.stats.deadLettered).toBe(0);
    await waitFor(async () => {
      const lag = await consumerLag(t.jsm, t.names.streams.events, t.names.consumers.monitorEvents);
      return lag.pending + lag.ackPending === 0;
    });
  });
});
