import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { ReplyError } from 'ioredis';
import { QueueError, createRedis, isRedisUnavailable, redisErrorCode, toQueueError } from '../src/index.js';
import { rand, testRedis } from './helpers.js';

async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as { port: number };
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('isRedisUnavailable', () => {
  it('is true when the server cannot be reached, also through a QueueError', async () => {
    const redis = createRedis({ host: '127.0.0.1', port: await closedPort(), maxRetriesPerRequest: 1 });
    try {
      const err = await redis.get('k').catch((e: unknown) => e);
      expect(isRedisUnavailable(err)).toBe(true);
      expect(isRedisUnavailable(new QueueError('XACK failed', true, { cause: err }))).toBe(true);
    } finally {
      redis.disconnect();
    }
    const closed = createRedis({ port: 6379 });
    closed.disconnect();
    expect(isRedisUnavailable(await closed.get('k').catch((e: unknown) => e))).toBe(true);
    // a server loading its AOF after a restart answers every command this way
    expect(isRedisUnavailable(new ReplyError('LOADING Redis is loading the dataset in memory'))).toBe(true);
  });

  it('is false for errors of the command itself', async () => {
    const { redis, cleanup } = testRedis();
    try {
      const key = `list-${rand()}`;
      await redis.rpush(key, 'x');
      const wrongType = await redis.get(key).catch((e: unknown) => e);
      expect(wrongType).toBeInstanceOf(Error);
      expect(isRedisUnavailable(wrongType)).toBe(false);
    } finally {
      await cleanup();
    }
    expect(isRedisUnavailable(new Error('something else'))).toBe(false);
    // another client's socket error (MySQL's) is not a Redis outage
    expect(isRedisUnavailable(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:3306'), { code: 'ECONNREFUSED' }))).toBe(false);
    expect(isRedisUnavailable('LOADING')).toBe(false);
    // the reply code decides, not text: an error that only reads like a Redis reply is not one
    expect(isRedisUnavailable(new Error('LOADING Redis is loading the dataset in memory'))).toBe(false);
  });

  it('reads the reply code of real server replies', async () => {
    const { redis, cleanup } = testRedis();
    try {
      const key = `list-${rand()}`;
      await redis.rpush(key, 'x');
      expect(redisErrorCode(await redis.get(key).catch((e: unknown) => e))).toBe('WRONGTYPE');
      expect(redisErrorCode(await redis.xreadgroup('GROUP', 'nope', 'c', 'STREAMS', `missing-${rand()}`, '>').catch((e: unknown) => e))).toBe('NOGROUP');
      const stream = `s-${rand()}`;
      await redis.xgroup('CREATE', stream, 'g', '0', 'MKSTREAM');
      const busy = await redis.xgroup('CREATE', stream, 'g', '0', 'MKSTREAM').catch((e: unknown) => e);
      expect(redisErrorCode(busy)).toBe('BUSYGROUP');
      expect(toQueueError(await redis.get(key).catch((e: unknown) => e), 'GET').retryable).toBe(false);
      await redis.del(stream);
    } finally {
      await cleanup();
    }
    expect(redisErrorCode(new Error('WRONGTYPE looks like a reply'))).toBeUndefined();
  });
});
