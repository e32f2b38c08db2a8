import type { Dependency } from '@ragline/bus';
import { isRedisUnavailable } from '@ragline/redis-queue';
import type { Redis } from 'ioredis';

/** Redis (cancel flags, heartbeats, kb dimensions) as a DependencyGate sees it. */
export function redisDependency(redis: Redis): Dependency {
  return {
    name: 'redis',
    isOutage: isRedisUnavailable,
    probe: async () => {
      await redis.ping();
    },
  };
}
