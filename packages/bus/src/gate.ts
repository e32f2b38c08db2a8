import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '@ragline/telemetry';

/** Something a stage needs besides NATS (MySQL, Redis, the object store), as a gate sees it. */
export interface Dependency {
  /** e.g. "mysql", "redis", "object store" */
  name: string;
  /** true when the error says the dependency cannot be reached (nothing is wrong with the message) */
  isOutage(err: unknown): boolean;
  /** resolves once the dependency answers again; rejects while it is still down */
  probe(): Promise<void>;
}

export interface DependencyGateOptions {
  dependencies: Dependency[];
  /** pause between probes while a dependency is down; default 1000 */
  probeIntervalMs?: number;
  logger?: Pick<Logger, 'warn' | 'info'>;
  /** called when a dependency goes down (false) or answers again (true) */
  onChange?: (name: string, up: boolean) => void;
}

/**
 * Stops a consumer pulling while a dependency it needs is down. Every delivery of a JetStream message
 * counts toward MaxDeliver, and a message that runs out goes to the dead-letter stream and fails its
 * task: without the gate, an outage of MySQL or the object store longer than the retry back-off
 * (about 15 s with the defaults) would fail every task in flight although nothing is wrong with them.
 * With it, an outage costs the messages in hand one delivery; the rest wait in the stream (a pull
 * consumer is only delivered what it asks for) until a probe succeeds.
 *
 * Use: `canPull: gate.canPull` and `handler: gate.guard(handler)` on runConsumer / runBatchConsumer.
 */
export class DependencyGate {
  private readonly down = new Map<string, number>();
  private readonly probeIntervalMs: number;
  private stopped = false;

  constructor(private readonly opts: DependencyGateOptions) {
    this.probeIntervalMs = opts.probeIntervalMs ?? 1000;
  }

  /** false while any dependency is down: the consumer's `canPull` */
  readonly canPull = (): boolean => this.down.size === 0;

  /** names of the dependencies currently down */
  get unavailable(): string[] {
    return [...this.down.keys()];
  }

  /** Looks at a handler's error; when it is an outage of a dependency, closes the gate until that one answers. */
  observe(err: unknown): boolean {
    const dep = this.opts.dependencies.find((d) => d.isOutage(err));
    if (!dep) return false;
    if (!this.down.has(dep.name) && !this.stopped) {
      this.down.set(dep.name, Date.now());
      this.opts.logger?.warn({ dependency: dep.name, err: err instanceof Error ? err.message : String(err) }, `${dep.name} unavailable: pausing pulls until it answers`);
      this.opts.onChange?.(dep.name, false);
      void this.probeUntilUp(dep);
    }
    return true;
  }

  /** Wraps a handler so its errors reach `observe` (they are rethrown unchanged). */
  guard<A extends unknown[], R>(handler: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
    return async (...args: A) => {
      try {
        return await handler(...args);
      } catch (e) {
        this.observe(e);
        throw e;
      }
    };
  }

  private async probeUntilUp(dep: Dependency): Promise<void> {
    for (;;) {
      // unref'd: a gate waiting for a dead dependency never keeps a draining process alive
      await sleep(this.probeIntervalMs, undefined, { ref: false });
      if (this.stopped) return;
      try {
        await dep.probe();
        break;
      } catch {
        // still down
      }
    }
    const since = this.down.get(dep.name) ?? Date.now();
    this.down.delete(dep.name);
    this.opts.logger?.info({ dependency: dep.name, down_ms: Date.now() - since }, `${dep.name} answers again: pulling`);
    this.opts.onChange?.(dep.name, true);
  }

  /** Ends the probing (shutdown). */
  stop(): void {
    this.stopped = true;
  }
}
