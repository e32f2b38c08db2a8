import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import {
  HeartbeatReporter,
  RedisLock,
  cleanupDeadWorkers,
  createRedis,
  listWorkers,
  pythonIsoFormat,
  redactRedisUrl,
} from '../src/index.js';
import { rand, sleep, testRedis } from './helpers.js';

const ISO_MS_OFFSET = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d$/;

describe('HeartbeatReporter', () => {
  let redis: Redis;
  let cleanup: () => Promise<void>;
  beforeEach(() => ({ redis, cleanup } = testRedis()));
  afterEach(() => cleanup());

  const snapshot = () => ({ pending: 3, lag: 7, done: 11, failed: 2, current: { t1: { id: 't1', doc_id: 'd1' } } });

  it('registers in TASKEXE and writes RAGFlow-shaped heartbeats scored by time', async () => {
    const name = `task_executor_common_${rand()}_0`;
    const reporter = new HeartbeatReporter(redis, { name, stage: 'bridge', version: '1.2.3', snapshot });
    const before = Date.now() / 1000;
    await reporter.beat();
    expect(await redis.smembers('TASKEXE')).toEqual([name]);
    const [member, score] = await redis.zrange(name, 0, -1, 'WITHSCORES');
    expect(Number(score)).toBeGreaterThanOrEqual(before - 0.001);
    expect(Number(score)).toBeLessThan(before + 5);
    const record = JSON.parse(member!) as Record<string, unknown>;
    expect(Object.keys(record)).toEqual([
      'ip_address', 'pid', 'name', 'now', 'boot_at', 'pending', 'lag', 'done', 'failed', 'current', 'stage', 'version', 'host',
    ]);
    expect(record).toMatchObject({ pid: process.pid, name, pending: 3, lag: 7, done: 11, failed: 2, stage: 'bridge', version: '1.2.3' });
    expect(record.current).toEqual({ t1: { id: 't1', doc_id: 'd1' } });
    expect(record.now).toMatch(ISO_MS_OFFSET);
    expect(record.boot_at).toMatch(ISO_MS_OFFSET);
    expect(Math.abs(Date.parse(record.now as string) / 1000 - Number(score))).toBeLessThan(0.002);
    // Python's json.dumps separators, so RAGFlow's readers see the same bytes they write
    expect(member).toContain('"pid": ');

    // re-added on every beat, even after a cleanup removed it
    await redis.srem('TASKEXE', name);
    await reporter.beat();
    expect(await redis.smembers('TASKEXE')).toEqual([name]);
    expect(await redis.zcard(name)).toBe(2);
  });

  it('trims heartbeats older than the retention', async () => {
    const name = `w_${rand()}`;
    const nowSeconds = Date.now() / 1000;
    await redis.zadd(name, nowSeconds - 1801, '{"old": true}', nowSeconds - 100, '{"recent": true}');
    await new HeartbeatReporter(redis, { name, stage: 's', version: 'v', snapshot }).beat();
    const members = await redis.zrange(name, 0, -1);
    expect(members).toHaveLength(2);
    expect(members[0]).toBe('{"recent": true}');

    await new HeartbeatReporter(redis, { name, stage: 's', version: 'v', snapshot, retentionMs: 50_000 }).beat();
    expect((await redis.zrange(name, 0, -1)).some((m) => m.includes('recent'))).toBe(false);
  });

  it('start() beats at once and on the interval; stop({ deregister }) removes the worker', async () => {
    const name = `w_${rand()}`;
    const reporter = new HeartbeatReporter(redis, { name, stage: 's', version: 'v', intervalMs: 40, snapshot });
    reporter.start();
    await sleep(200);
    await reporter.stop();
    const beats = await redis.zcard(name);
    expect(beats).toBeGreaterThanOrEqual(2);
    await sleep(80);
    expect(await redis.zcard(name)).toBe(beats);
    await reporter.stop({ deregister: true });
    expect(await redis.sismember('TASKEXE', name)).toBe(0);
    expect(await redis.exists(name)).toBe(0);
  });

  it('pythonIsoFormat matches isoformat(timespec="milliseconds") in local time', () => {
    const d = new Date(2026, 7, 22, 9, 5, 7, 42);
    const s = pythonIsoFormat(d);
    expect(s.startsWith('2026-08-22T09:05:07.042')).toBe(true);
    expect(Date.parse(s)).toBe(d.getTime());
  });
});

describe('listWorkers and cleanupDeadWorkers', () => {
  let redis: Redis;
  let cleanup: () => Promise<void>;
  beforeEach(() => ({ redis, cleanup } = testRedis()));
  afterEach(() => cleanup());

  it('list marks stale workers; cleanup removes dead ones except itself', async () => {
    const snapshot = () => ({ pending: 0, lag: 0, done: 0, failed: 0, current: {} });
    await new HeartbeatReporter(redis, { name: 'live', stage: 'parser', version: 'v', snapshot }).beat();
    const old = Date.now() / 1000 - 600;
    await redis.sadd('TASKEXE', 'stale', 'ghost', 'me');
    await redis.zadd('stale', old, '{"name": "stale"}');
    await redis.zadd('me', old, '{"name": "me"}');

    const workers = await listWorkers(redis);
    expect(workers.map((w) => [w.name, w.alive])).toEqual([
      ['ghost', false],
      ['live', true],
      ['me', false],
      ['stale', false],
    ]);
    const live = workers.find((w) => w.name === 'live')!;
    expect(live.heartbeat).toMatchObject({ name: 'live', stage: 'parser' });
    expect(Math.abs(live.lastBeatAt! - Date.now())).toBeLessThan(5000);
    expect(workers.find((w) => w.name === 'ghost')).toMatchObject({ lastBeatAt: null, heartbeat: null });
    expect((await listWorkers(redis, { staleAfterMs: 700_000 })).find((w) => w.name === 'stale')!.alive).toBe(true);

    expect(await cleanupDeadWorkers(redis, { except: 'me' })).toEqual(['ghost', 'stale']);
    expect((await redis.smembers('TASKEXE')).sort()).toEqual(['live', 'me']);
    expect(await redis.exists('stale')).toBe(0);
    expect(await redis.exists('me')).toBe(1);
    expect(await cleanupDeadWorkers(redis, { timeoutMs: 1_000_000 })).toEqual([]);
  });
});

describe('RedisLock', () => {
  let redis: Redis;
  let cleanup: () => Promise<void>;
  beforeEach(() => ({ redis, cleanup } = testRedis()));
  afterEach(() => cleanup());

  it('only the owner renews or releases; the same owner takes over its own lock', async () => {
    const key = 'clean_task_executor';
    const mine = new RedisLock(redis, key, { owner: 'monitor_a', ttlMs: 5000 });
    const theirs = new RedisLock(redis, key, { owner: 'monitor_b', ttlMs: 5000 });
    expect(await mine.acquire()).toBe(true);
    expect(await redis.get(key)).toBe('monitor_a');
    expect(await theirs.acquire()).toBe(false);
    expect(await theirs.renew()).toBe(false);
    expect(await theirs.release()).toBe(false);
    expect(await redis.get(key)).toBe('monitor_a');

    // a restarted process with the same owner value takes the lock back
    const restarted = new RedisLock(redis, key, { owner: 'monitor_a', ttlMs: 8000 });
    expect(await restarted.acquire()).toBe(true);
    expect(await redis.pttl(key)).toBeGreaterThan(5000);

    await redis.pexpire(key, 100);
    expect(await mine.renew()).toBe(true);
    expect(await redis.pttl(key)).toBeGreaterThan(4000);
    expect(await mine.release()).toBe(true);
    expect(await redis.exists(key)).toBe(0);
    expect(await mine.release()).toBe(false);
    expect(await mine.renew()).toBe(false);
    expect(await theirs.acquire()).toBe(true);
  });

  it('expires when its holder stops renewing', async () => {
    const a = new RedisLock(redis, 'l', { owner: 'a', ttlMs: 50 });
    const b = new RedisLock(redis, 'l', { owner: 'b', ttlMs: 50 });
    expect(await a.acquire()).toBe(true);
    expect(await b.acquire()).toBe(false);
    await sleep(80);
    expect(await b.acquire()).toBe(true);
  });
});

describe('createRedis', () => {
  it('takes db, credentials and TLS from the URL; explicit options win; db defaults to 1', () => {
    const a = createRedis({ url: 'rediss://user:p%40ss@example.invalid:6380/4', keyPrefix: 'x:' });
    expect(a.options).toMatchObject({ host: 'example.invalid', port: 6380, db: 4, username: 'user', password: 'p@ss', keyPrefix: 'x:' });
    expect(a.options.tls).toEqual({});
    a.disconnect();
    const b = createRedis({ url: 'redis://127.0.0.1:6379', db: 7 });
    expect(b.options.db).toBe(7);
    b.disconnect();
    const c = createRedis({});
    expect(c.options).toMatchObject({ host: '127.0.0.1', port: 6379, db: 1 });
    c.disconnect();
    expect(() => createRedis({ url: 'http://secret:pw@h' })).toThrow(/redis:\/\//);
  });

  it('reports connection errors to onError and rejects commands, without the password', async () => {
    const errors: Error[] = [];
    const redis = createRedis({ url: 'redis://:hunter2@127.0.0.1:1/0', maxRetriesPerRequest: 0, onError: (e) => errors.push(e) });
    try {
      const err = (await redis.get('k').catch((e: unknown) => e)) as Error;
      expect(err).toBeInstanceOf(Error);
      expect(errors.length).toBeGreaterThan(0);
      for (const e of [err, ...errors]) expect(String(e.message)).not.toContain('hunter2');
    } finally {
      redis.disconnect();
    }
  });

  it('redactRedisUrl hides the password only', () => {
    expect(redactRedisUrl('redis://user:s3cret@h:6379/1')).toBe('redis://user:***@h:6379/1');
    expect(redactRedisUrl('redis://:s3cret@h')).toBe('redis://:***@h');
    expect(redactRedisUrl('redis://h:6379/1')).toBe('redis://h:6379/1');
  });

  it('connects to the local Redis', async () => {
    const redis = createRedis({ url: 'redis://127.0.0.1:6379/15' });
    try {
      expect(await redis.ping()).toBe('PONG');
    } finally {
      redis.disconnect();
    }
  });
});
