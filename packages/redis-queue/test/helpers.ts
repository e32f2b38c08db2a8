import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { createRedis } from '../src/index.js';

export const rand = (): string => randomBytes(5).toString('hex');

/** A client on db 15 with a key prefix of its own, so concurrent test runs never see each other's keys. */
export function testRedis(): { redis: Redis; prefix: string; cleanup: () => Promise<void> } {
  const prefix = `rq-test-${rand()}:`;
  const redis = createRedis({ db: 15, keyPrefix: prefix });
  const cleanup = async (): Promise<void> => {
    const raw = new Redis({ db: 15 });
    try {
      let cursor = '0';
      do {
        const [next, keys] = await raw.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
        cursor = next;
        if (keys.length > 0) await raw.del(...keys);
      } while (cursor !== '0');
    } finally {
      raw.disconnect();
      redis.disconnect();
    }
  };
  return { redis, prefix, cleanup };
}

/** Raw client (no prefix) on db 15, to check what really landed in Redis. */
export const rawRedis = (): Redis => new Redis({ db: 15 });

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
