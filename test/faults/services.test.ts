import { writeFileSync } from 'node:fs';
import { RAGFLOW_CONSUMER_GROUP, queueStats } from '@ragline/redis-queue';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEnvironment, type Environment } from '../support/pipeline.js';
import type { Report } from './support/invariants.js';
import { mixedCorpus, type LoadDoc } from './support/load.js';
import {
  loadUnderFault,
  startNatsServer,
  startRedisServer,
  startS3Server,
  startTcpProxy,
  type RestartableServer,
  type S3Server,
  type TcpProxy,
} from './support/services.js';

/**
 * Infrastructure faults under load (issue #8): the five apps run against a private nats-server and
 * redis-server (restartable on the same port and data dir), reach MariaDB through a proxy that can
 * make it unavailable, and read objects from an S3 server that can be stopped. Each fault gets its
 * own load of 200+ mixed documents, is injected once part of the load is done, and is lifted;
 * then every task must be done with each expected chunk stored exactly once and nothing left behind.
 */

const DOCS = Number(process.env.FAULT_DOCS ?? 200);

describe('service faults under load', () => {
  let nats: RestartableServer & { url: string };
  let redis: RestartableServer & { url: (db?: number) => string };
  let mysql: TcpProxy;
  let s3: S3Server;
  let env: Environment;
  let corpus: LoadDoc[];
  const timings: Record<string, unknown>[] = [];

  beforeAll(async () => {
    [nats, redis, mysql, s3, corpus] = await Promise.all([
      startNatsServer(),
      startRedisServer({ persistence: 'aof' }),
      startTcpProxy({ host: '127.0.0.1', port: 3306 }),
      startS3Server(),
      mixedCorpus(DOCS, 'services'),
    ]);
    env = await createEnvironment(
      {
        NATS_URL: nats.url,
        REDIS_URL: redis.url(1),
        ...s3.env,
        // a message whose holder lost its connection comes back after 3 s, not the default minute
        NATS_ACK_WAIT_MS: '3000',
      },
      // the apps reach MariaDB through the proxy; the test's own checks go direct
      { appEnv: (e) => ({ MYSQL_URL: e.MYSQL_URL!.replace('@127.0.0.1:3306/', `@127.0.0.1:${mysql.port}/`) }) },
    );
    env.startAll();
  });

  afterAll(async () => {
    console.log(`service faults (${DOCS} documents per load):\n${timings.map((t) => `  ${JSON.stringify(t)}`).join('\n')}`);
    if (process.env.FAULT_LOG_FILE && env) writeFileSync(process.env.FAULT_LOG_FILE, env.logs.map((l) => `[${l.app}] ${l.line}`).join('\n'));
    // every server is up again here (each test restores what it broke), so cleanup can reach them
    await env?.cleanup();
    await Promise.all([nats?.close(), redis?.close(), mysql?.close(), s3?.close()]);
  });

  async function underFault(name: string, fault: Parameters<typeof loadUnderFault>[2]['fault'], opts: { lateDuringFault: boolean }): Promise<Report> {
    const { report, timing } = await loadUnderFault(env, corpus, { name, fault, ...opts });
    timings.push(timing);
    expect(report.failed, JSON.stringify(report.failures.slice(0, 5))).toBe(0);
    expect(report.done).toBe(report.tasks);
    return report;
  }

  /** No app may have died of the outage: each must still be running. */
  function expectAllRunning(): void {
    for (const [key, p] of env.procs) expect({ exit: p.exitCode, signal: p.signalCode }, `${key} exited`).toEqual({ exit: null, signal: null });
  }

  it('NATS server restart: JetStream state survives, apps reconnect, nothing lost or duplicated', async () => {
    await underFault('nats restart', async () => {
      const starts = nats.starts;
      await nats.restart(3000, 'SIGTERM');
      expect(nats.starts).toBe(starts + 1);
      return { natsDownMs: 3000 };
    }, { lateDuringFault: true });
    expectAllRunning();
  });

  it('Redis crash and restart with AOF persistence: queued and pending RAGFlow entries survive', async () => {
    await underFault('redis restart', async ({ enqueueRest }) => {
      // the rest of the load goes in right before the crash, so the queue holds entries nobody has
      // read yet and entries the bridge read but did not ack: Redis acknowledged every XADD
      await enqueueRest();
      const queued = await Promise.all(env.queues.map((q) => queueStats(env.redis, q, RAGFLOW_CONSUMER_GROUP)));
      const starts = redis.starts;
      // a crash, not a clean shutdown: the AOF still has every write Redis acknowledged
      await redis.restart(3000, 'SIGKILL');
      expect(redis.starts).toBe(starts + 1);
      const unfinished = queued.reduce((n, q) => n + q.pending + (q.lag ?? 0), 0);
      expect(unfinished, 'entries waiting in Redis when it crashed').toBeGreaterThan(0);
      return { redisDownMs: 3000, entriesInRedisAtCrash: unfinished };
    }, { lateDuringFault: false });
    expectAllRunning();
  });

  it('MySQL unavailable for 20 s: connections cut and refused, then back', async () => {
    await underFault('mysql outage', async () => {
      const cutBefore = mysql.stats.cut;
      await mysql.outage(20_000);
      // the apps held live connections that the outage cut
      expect(mysql.stats.cut).toBeGreaterThan(cutBefore);
      return { mysqlDownMs: 20_000, connectionsCut: mysql.stats.cut - cutBefore };
    }, { lateDuringFault: true });
    expectAllRunning();
  });

  it('object store unavailable for 20 s: S3 server stopped, then back on the same port and data', async () => {
    await underFault('s3 outage', async () => {
      await s3.outage(20_000);
      return { s3DownMs: 20_000 };
    }, { lateDuringFault: true });
    expectAllRunning();
  });
});
