import { randomUUID } from 'node:crypto';
import type { RedisLock } from '@ragline/redis-queue';
import type { Logger } from '@ragline/telemetry';

export interface LeaseOptions {
  /** how often the holder renews the lock and a non-holder tries to take it; default ttlMs / 3 */
  renewEveryMs?: number;
  logger?: Logger;
  /** called when this process gains (true) or loses (false) the lock */
  onChange?: (held: boolean) => void;
}

/**
 * Holds a RedisLock as a lease: a non-holder tries to take it every `renewEveryMs`, the holder
 * renews it on the same timer (so work that outlasts the TTL keeps it), and only the holder
 * releases it. Jobs run through `run()` only while the lease is held, with an AbortSignal that
 * fires if the lease is lost meanwhile (another replica took over after a stall).
 */
export class Lease {
  private timer: NodeJS.Timeout | undefined;
  private held = false;
  private lost = new AbortController();
  private tick: Promise<void> = Promise.resolve();
  private readonly renewEveryMs: number;

  constructor(
    readonly lock: RedisLock,
    private readonly opts: LeaseOptions = {},
  ) {
    this.renewEveryMs = opts.renewEveryMs ?? Math.max(10, Math.floor(lock.ttlMs / 3));
    if (this.renewEveryMs >= lock.ttlMs) throw new TypeError('Lease renewEveryMs must be shorter than the lock TTL');
  }

  get isHeld(): boolean {
    return this.held;
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.refresh(), this.renewEveryMs);
    this.timer.unref();
    void this.refresh();
  }

  /** One acquire-or-renew step (the timer calls it; tests may call it directly). Returns whether the lease is held. */
  refresh(): Promise<boolean> {
    const next = this.tick.then(async () => {
      try {
        const ok = this.held ? await this.lock.renew() : await this.lock.acquire();
        this.set(ok);
      } catch (e) {
        // Redis unreachable: we cannot prove we still hold it, so stop acting as holder
        this.opts.logger?.warn({ err: (e as Error).message, lock: this.lock.key }, 'lock refresh failed');
        this.set(false);
      }
    });
    this.tick = next;
    return next.then(() => this.held);
  }

  /** Runs `job` if the lease is held now; returns false without running it otherwise. */
  async run(job: (signal: AbortSignal) => Promise<void>): Promise<boolean> {
    if (!this.held) return false;
    await job(this.lost.signal);
    return true;
  }

  /** Stops renewing and releases the lock if (and only if) this process holds it. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.tick;
    if (this.held) await this.lock.release().catch(() => false);
    this.set(false);
  }

  private set(held: boolean): void {
    if (held === this.held) return;
    this.held = held;
    if (!held) {
      this.lost.abort(new Error(`lost lock ${this.lock.key}`));
      this.lost = new AbortController();
    }
    this.opts.onChange?.(held);
  }
}

/** A lock owner token unique to this process: two replicas configured with the same name still never share a lock. */
export function lockOwner(workerName: string): string {
  return `${workerName}:${process.pid}:${randomUUID().slice(0, 8)}`;
}
