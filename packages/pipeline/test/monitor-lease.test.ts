import { setTimeout as sleep } from 'node:timers/promises';
import { HeartbeatReporter, RedisLock, WORKER_SET_KEY, createRedis, listWorkers } from '@ragline/redis-queue';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Lease, cleanupWorkers, lockOwner } from '../src/index.js';
import { REDIS_DB, deletePrefixedKeys, logger, rand } from './support/stage-env.js';

const prefix = `ml-${rand()}:`;
let a: Redis;
let b: Redis;
const leases: Lease[] = [];

beforeAll(() => {
  // two connections: two monitor replicas
  a = createRedis({ db: REDIS_DB, keyPrefix: prefix });
  b = createRedis({ db: REDIS_DB, keyPrefix: prefix });
});
afterEach(async () => {
  for (const l of leases.splice(0)) await l.stop();
});
afterAll(async () => {
  await deletePrefixedKeys(a, prefix);
  a.disconnect();
  b.disconnect();
});

function lease(redis: Redis, key: string, ttlMs = 300): Lease {
  const l = new Lease(new RedisLock(redis, key, { owner: lockOwner('ragline_monitor_test'), ttlMs }), { renewEveryMs: 80, logger });
  leases.push(l);
  return l;
}

describe('monitor lease (RedisLock held with renewal)', () => {
  it('gives the lock to exactly one of two replicas, keeps it past the TTL by renewing, and hands it over on release', async () => {
    const key = `lock-${rand()}`;
    const one = lease(a, key);
    const two = lease(b, key);
    await Promise.all([one.refresh(), two.refresh()]);
    expect([one.isHeld, two.isHeld].filter(Boolean)).toHaveLength(1);
    const [holder, other] = one.isHeld ? [one, two] : [two, one];
    holder.start();
    other.start();
    await sleep(900); // three TTLs: only renewal keeps it
    expect(holder.isHeld).toBe(true);
    expect(other.isHeld).toBe(false);
    expect(await a.get(key)).toBe(holder.lock.owner);

    await holder.stop();
    expect(await a.get(key)).toBeNull();
    await sleep(250);
    expect(other.isHeld).toBe(true);
    expect(await a.get(key)).toBe(other.lock.owner);
  });

  it('never lets a non-owner release or renew, and frees a crashed holder after the TTL', async () => {
    const key = `lock-${rand()}`;
    const holder = new RedisLock(a, key, { owner: 'monitor-1:x', ttlMs: 200 });
    const other = new RedisLock(b, key, { owner: 'monitor-2:y', ttlMs: 200 });
    expect(await holder.acquire()).toBe(true);
    expect(await other.acquire()).toBe(false);
    expect(await other.release()).toBe(false);
    expect(await other.renew()).toBe(false);
    expect(await a.get(key)).toBe('monitor-1:x');
    // the holder "crashes": no renewals, the key expires
    await sleep(300);
    expect(await other.acquire()).toBe(true);
    expect(await holder.renew()).toBe(false);
    expect(await holder.release()).toBe(false);
    expect(await a.get(key)).toBe('monitor-2:y');
    await other.release();
  });

  it('aborts a running job when the lease is lost to another owner', async () => {
    const key = `lock-${rand()}`;
    const l = lease(a, key, 1000);
    expect(await l.refresh()).toBe(true);
    let aborted = false;
    const job = l.run(async (signal) => {
      await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
      aborted = signal.aborted;
    });
    await b.set(key, 'someone-else', 'PX', 1000); // e.g. our renewals stalled past the TTL and another replica took it
    expect(await l.refresh()).toBe(false);
    await job;
    expect(aborted).toBe(true);
    expect(await l.run(async () => undefined)).toBe(false);
  });
});

describe('worker cleanup under the lease, two monitor replicas', () => {
  it('removes silent workers, keeps live ones, trims old heartbeats, and runs on one replica only', async () => {
    const live = new HeartbeatReporter(a, {
      name: `ragline_parser_${rand()}`,
      stage: 'parser',
      version: '0.1.0',
      snapshot: () => ({ pending: 0, lag: 0, done: 1, failed: 0, current: {} }),
    });
    await live.beat();
    // an old heartbeat of the live worker (past the 30 min retention) and a worker silent for 5 minutes
    const now = Date.now() / 1000;
    await a.zadd(live.name, now - 3600, JSON.stringify({ name: live.name, now: 'an hour ago' }));
    const silent = `ragline_embedder_${rand()}`;
    await a.sadd(WORKER_SET_KEY, silent);
    await a.zadd(silent, now - 300, JSON.stringify({ name: silent }));

    const key = `clean_task_executor-${rand()}`;
    const replicas = [lease(a, key, 1000), lease(b, key, 1000)];
    await Promise.all(replicas.map((l) => l.refresh()));
    const runs: string[] = [];
    const results = await Promise.all(
      replicas.map((l, i) =>
        l.run(async () => {
          runs.push(`replica-${i}`);
          const r = await cleanupWorkers(i === 0 ? a : b, { timeoutMs: 120_000, retentionMs: 1_800_000 });
          expect(r.removed).toEqual([silent]);
          expect(r.trimmed).toBe(1);
        }),
      ),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(runs).toHaveLength(1);

    const workers = await listWorkers(a);
    expect(workers.map((w) => w.name)).toContain(live.name);
    expect(workers.map((w) => w.name)).not.toContain(silent);
    expect(await a.exists(silent)).toBe(0);
    expect(await a.zcard(live.name)).toBe(1);
    await live.stop({ deregister: true });
  });
});
