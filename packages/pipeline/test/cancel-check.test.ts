import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { createRedis } from '@ragline/redis-queue';
import { afterAll, describe, expect, it } from 'vitest';
import { cancelChecker } from '../src/index.js';
import { REDIS_DB } from './support/stage-env.js';

const redis = createRedis({ db: REDIS_DB, keyPrefix: `t-cancel-${randomBytes(4).toString('hex')}:` });
afterAll(async () => {
  const keys = await redis.keys('*');
  const prefix = redis.options.keyPrefix ?? '';
  if (keys.length) await redis.del(...keys.map((k) => k.slice(prefix.length)));
  await redis.quit();
});

describe('cancelChecker', () => {
  it('answers from its cache within the ttl and asks Redis again after it', async () => {
    // a ttl long enough that the second ask falls inside it even on a loaded CI machine
    const isCancelled = cancelChecker(redis, 1000);
    const task = `task${randomBytes(4).toString('hex')}`;
    expect(await isCancelled(task)).toBe(false);
    await redis.set(`${task}-cancel`, 'x');
    expect(await isCancelled(task)).toBe(false);
    await sleep(1050);
    expect(await isCancelled(task)).toBe(true);
  });

  it('with ttl 0 sees a cancel at once', async () => {
    const isCancelled = cancelChecker(redis, 0);
    const task = `task${randomBytes(4).toString('hex')}`;
    expect(await isCancelled(task)).toBe(false);
    await redis.set(`${task}-cancel`, 'x');
    expect(await isCancelled(task)).toBe(true);
  });

  it('keeps answering right for many tasks as old answers expire', async () => {
    const isCancelled = cancelChecker(redis, 50);
    const tasks = Array.from({ length: 200 }, (_, i) => `many${i}-${randomBytes(3).toString('hex')}`);
    for (const t of tasks.filter((_, i) => i % 3 === 0)) await redis.set(`${t}-cancel`, 'x');
    for (let round = 0; round < 2; round++) {
      for (const [i, t] of tasks.entries()) expect(await isCancelled(t)).toBe(i % 3 === 0);
      await sleep(60);
    }
  });
});
