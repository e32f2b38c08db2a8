import type { Redis } from 'ioredis';
import { toQueueError } from './errors.js';

// Take the lock when free, or refresh it when it already holds our owner value (a restarted holder takes over its own stale lock).
const ACQUIRE = `
local current = redis.call('GET', KEYS[1])
if current == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if current then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1`;

const RENEW = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0`;

const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`;

export interface RedisLockOptions {
  /** value stored in the key; only this owner can renew or release (RAGFlow uses the consumer name) */
  owner: string;
  /** expiry of the key; a holder that dies frees the lock after this long */
  ttlMs: number;
}

/** RAGFlow-style distributed lock (RedisDistributedLock): SET NX PX with compare-and-expire / compare-and-delete in Lua. */
export class RedisLock {
  readonly owner: string;
  readonly ttlMs: number;

  constructor(
    private readonly redis: Redis,
    readonly key: string,
    opts: RedisLockOptions,
  ) {
    if (!opts.owner) throw new TypeError('RedisLock needs an owner');
    if (!(opts.ttlMs > 0)) throw new TypeError('RedisLock ttlMs must be positive');
    this.owner = opts.owner;
    this.ttlMs = Math.ceil(opts.ttlMs);
  }

  /** true when we hold the lock now (newly taken or already ours). */
  acquire(): Promise<boolean> {
    return this.run(ACQUIRE, 'acquire');
  }

  /** Extends the expiry; false when the lock is no longer ours. */
  renew(): Promise<boolean> {
    return this.run(RENEW, 'renew');
  }

  /** Deletes the key only if we hold it; false otherwise. */
  release(): Promise<boolean> {
    return this.run(RELEASE, 'release');
  }

  private async run(script: string, what: string): Promise<boolean> {
    try {
      return Number(await this.redis.eval(script, 1, this.key, this.owner, this.ttlMs)) === 1;
    } catch (err) {
      throw toQueueError(err, `lock ${this.key} ${what}`);
    }
  }
}
