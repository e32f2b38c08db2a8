import { listWorkers } from '@ragline/redis-queue';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APPS, createEnvironment, type App, type Environment } from '../support/pipeline.js';
import { assertInvariants, waitAllTasksEnded, waitSomeTasksEnded } from './support/invariants.js';
import { enqueueLoad, enqueuePlan, mixedCorpus } from './support/load.js';
import { supervise, type AppName, type Supervised } from './support/supervise.js';

/**
 * Process faults of the reliability issue, on real processes and the machine's NATS, Redis and
 * MariaDB: a load of 200+ mixed documents, a fault in the middle of it, then the invariants.
 */

const DOCS = 200;

/**
 * Settings shared by the fault runs: a 3 s ack wait so messages held by a killed worker come back
 * quickly (live workers extend their hold every second), a 3 s idle time before another bridge
 * claims a dead one's Redis entries, and document state synced every second.
 */
const FAULT_ENV = {
  NATS_ACK_WAIT_MS: '3000',
  BRIDGE_CLAIM_IDLE_MS: '3000',
  MONITOR_SYNC_MS: '1000',
  SHUTDOWN_GRACE_MS: '8000',
  PARSER_BATCH_CHUNKS: '8',
};

function took(t0: number): string {
  return `${((Date.now() - t0) / 1000).toFixed(1)}s`;
}

describe('kill -9 of each app in the middle of a load, restarted by the Supervisor', () => {
  let env: Environment;
  let sup: Supervised;

  beforeAll(async () => {
    env = await createEnvironment(FAULT_ENV);
    sup = supervise(env, { embedder: 2 });
  });
  afterAll(async () => {
    await sup?.stop();
    await env?.cleanup();
  });

  const cases: { label: string; app: AppName; indexes?: number[] }[] = [
    { label: 'ingest-bridge', app: 'ingest-bridge' },
    { label: 'parser', app: 'parser' },
    { label: 'embedder (one of two replicas)', app: 'embedder', indexes: [0] },
    { label: 'indexer', app: 'indexer' },
    { label: 'monitor', app: 'monitor' },
    { label: 'both embedder replicas at once', app: 'embedder', indexes: [0, 1] },
  ];

  for (const c of cases) {
    it(`kill -9 ${c.label}: every task ends, each chunk stored once, nothing left pending`, async () => {
      const t0 = Date.now();
      const corpus = await mixedCorpus(DOCS, `kill9/${c.label}`);
      const plan = await enqueueLoad(env, corpus, { enqueue: false });
      const tAdded = Date.now();
      // the bridge keeps receiving entries while the fault hits, so its kill lands mid hand-off too
      const feeding = enqueuePlan(env, plan, { spreadMs: 8000 });
      const mid = await waitSomeTasksEnded(env, plan, 0.2);
      const before = sup.events.length;
      const killed = sup.kill9(c.app, c.indexes);
      expect(killed).toHaveLength(c.indexes?.length ?? 1);
      await sup.waitRestarted(c.app, killed);
      await feeding;
      const tKill = Date.now();
      await waitAllTasksEnded(env, plan, 240_000);
      const tEnded = Date.now();
      const report = await assertInvariants(env, plan);
      console.log(
        `[faults] kill -9 ${c.label}: ${plan.docs.length} docs / ${plan.taskIds.length} tasks, ${mid.ended} ended at the kill, ` +
          `${report.chunks} chunks, settled in ${report.settleMs} ms` +
          (report.transient.length ? `, transient: ${report.transient.slice(0, 3).join(' | ')}` : '') +
          `; corpus+rows ${((tAdded - t0) / 1000).toFixed(1)}s, to kill ${((tKill - tAdded) / 1000).toFixed(1)}s, ` +
          `to end ${((tEnded - tKill) / 1000).toFixed(1)}s, invariants ${took(tEnded)}, total ${took(t0)}`,
      );
      // the fault came in the middle: some tasks ended before it, not all
      expect(mid.ended).toBeLessThan(plan.taskIds.length);
      expect(report.failed).toBe(0);
      expect(report.done).toBe(plan.taskIds.length);
      // the supervisor logged one restart per killed child
      const restarts = sup.events.slice(before).filter((e) => new RegExp(`^${c.app}(\\.\\d+)? exited \\(SIGKILL\\); restarting in \\d+ ms`).test(e));
      expect(restarts).toHaveLength(killed.length);
    });
  }
});

describe('SIGTERM to one of two replicas of each app under load', () => {
  let env: Environment;

  beforeAll(async () => {
    env = await createEnvironment(FAULT_ENV);
    for (const app of APPS) {
      env.start(app, 0);
      env.start(app, 1);
    }
  });
  afterAll(async () => {
    await env?.cleanup();
  });

  /** messages the replica has handled so far, from its latest RAGFlow-style heartbeat */
  async function handled(app: App, replica: number): Promise<number> {
    const stage = app === 'ingest-bridge' ? 'bridge' : app;
    const w = (await listWorkers(env.redis)).find((x) => x.name === `ragline_${stage}_e2e_${env.id}_${replica}`);
    return w?.heartbeat?.done ?? 0;
  }

  it('each drains and exits 0 within SHUTDOWN_GRACE_MS, and the other replica finishes the work', async () => {
    const t0 = Date.now();
    const grace = Number(FAULT_ENV.SHUTDOWN_GRACE_MS);
    const plan = await enqueueLoad(env, await mixedCorpus(DOCS, 'sigterm'), { enqueue: false });
    const feeding = enqueuePlan(env, plan, { spreadMs: 10_000 });
    // one app after the other, each while the load is still running
    const order: App[] = ['ingest-bridge', 'parser', 'embedder', 'indexer', 'monitor'];
    const stops: { app: App; code: number | null; ms: number; ended: number; handled: number; lines: string[] }[] = [];
    for (const [i, app] of order.entries()) {
      const at = await waitSomeTasksEnded(env, plan, 0.08 + 0.1 * i);
      const key = `${app}.1`;
      const busy = await handled(app, 1);
      const from = env.logs.length;
      const started = Date.now();
      const code = await env.stop(key, 'SIGTERM');
      const ms = Date.now() - started;
      const lines = env.logs.slice(from).filter((l) => l.app === key).map((l) => l.line);
      stops.push({ app, code, ms, ended: at.ended, handled: busy, lines });
    }
    await feeding;
    await waitAllTasksEnded(env, plan, 240_000);
    const tEnded = Date.now();
    const report = await assertInvariants(env, plan);
    console.log(
      `[faults] SIGTERM: ${plan.docs.length} docs / ${plan.taskIds.length} tasks, ${report.chunks} chunks; ` +
        stops.map((s) => `${s.app} exit ${s.code} in ${s.ms} ms after ${s.handled} messages, ${s.ended} tasks ended`).join('; ') +
        `; invariants ${took(tEnded)}, total ${took(t0)}`,
    );
    for (const s of stops) {
      expect(s.code, `${s.app} exit code`).toBe(0);
      expect(s.ms, `${s.app} drain time`).toBeLessThan(grace + 2000);
      // it was stopped under load, after taking part in it
      expect(s.ended, `${s.app} stopped before the load ended`).toBeLessThan(plan.taskIds.length);
      expect(s.handled, `${s.app}.1 handled messages before its SIGTERM`).toBeGreaterThan(0);
      // the drain ran to its end: stop pulling, finish or hand back, close, exit
      expect(s.lines.some((l) => l.includes('"msg":"draining"')), `${s.app} logged the drain`).toBe(true);
      expect(s.lines.some((l) => l.includes('"msg":"stopped"')), `${s.app} logged the stop`).toBe(true);
    }
    // the stopped replicas are gone, so whatever they held was finished by the other replica
    for (const app of order) expect(env.procs.get(`${app}.1`)!.exitCode).toBe(0);
    expect(report.failed).toBe(0);
    expect(report.done).toBe(plan.taskIds.length);
  });
});
