import { setTimeout as sleep } from 'node:timers/promises';
import type { Stoppable } from '@ragline/service';
import type { Logger } from '@ragline/telemetry';

/**
 * The SIGTERM drain, in the order docs/architecture.md gives it. Components register into a phase by
 * name, so the order no longer depends on who registered first (it used to be positions in one list,
 * and a gate appended after the connections' closing step closed NATS and Redis under the consumer):
 *
 * - `intake`: stop pulling / reading (every consumer at once, so none keeps taking work while another drains)
 * - `in-flight`: finish what is in hand within the grace period; the consumer naks the rest without delay
 * - `close`: stores, gates, timers, servers, the heartbeat (deregistered) and other clients
 * - `drain`: the connections everything above used (NATS drain, Redis quit)
 * - `telemetry`: flush spans last, so the drain's own spans get out
 *
 * The process exits after the last phase (handleShutdown's exit).
 */
export const SHUTDOWN_PHASES = ['intake', 'in-flight', 'close', 'drain', 'telemetry'] as const;
export type ShutdownPhase = (typeof SHUTDOWN_PHASES)[number];

/** One step of a phase; `graceLeftMs` is what is left of SHUTDOWN_GRACE_MS when its phase starts. */
export type ShutdownStep = (graceLeftMs: number) => unknown;

export interface ShutdownPhasesOptions {
  logger?: Pick<Logger, 'info' | 'error' | 'warn'>;
  /**
   * Longest a step of `close`, `drain` or `telemetry` may take (those get no grace budget of their
   * own): a store or connection that hangs must not keep a draining process alive. Default 5000.
   */
  stepTimeoutMs?: number;
}

interface Registered {
  name: string;
  step: ShutdownStep;
}

/**
 * Runs registered steps phase by phase. Steps of one phase run concurrently (two consumers drain
 * side by side within the same grace period); a failing step is logged and does not stop the others,
 * but its phase then rejects so the process exits 1.
 */
export class ShutdownPhases {
  private readonly steps = new Map<ShutdownPhase, Registered[]>(SHUTDOWN_PHASES.map((p) => [p, []]));
  private readonly stepTimeoutMs: number;

  constructor(private readonly opts: ShutdownPhasesOptions = {}) {
    this.stepTimeoutMs = opts.stepTimeoutMs ?? 5000;
  }

  add(phase: ShutdownPhase, name: string, step: ShutdownStep): void {
    const list = this.steps.get(phase);
    if (!list) throw new Error(`unknown shutdown phase "${String(phase)}"`);
    list.push({ name, step });
  }

  /**
   * A Stoppable (a consumer, whose `stop(grace)` stops pulling at once, then waits for in-flight work
   * and hands back what is left): its stop starts in `intake` and is awaited in `in-flight`.
   */
  addStoppable(name: string, s: Stoppable): void {
    let stopping: Promise<void> | undefined;
    this.add('intake', name, (graceLeftMs) => {
      stopping = Promise.resolve(s.stop(graceLeftMs));
      // awaited (and its error reported) in the in-flight phase
      stopping.catch(() => undefined);
    });
    this.add('in-flight', name, () => stopping);
  }

  /** What is registered, phase by phase (the order the drain will run). */
  plan(): { phase: ShutdownPhase; steps: string[] }[] {
    return SHUTDOWN_PHASES.map((phase) => ({ phase, steps: this.steps.get(phase)!.map((s) => s.name) }));
  }

  async run(phase: ShutdownPhase, graceLeftMs: number): Promise<void> {
    const steps = this.steps.get(phase)!;
    if (!steps.length) return;
    const started = Date.now();
    // intake and in-flight are bounded by the grace period (the consumers keep it); the rest by a cap
    const cap = phase === 'intake' || phase === 'in-flight' ? undefined : this.stepTimeoutMs;
    const results = await Promise.allSettled(steps.map((s) => this.runStep(s, graceLeftMs, cap)));
    const failed: string[] = [];
    results.forEach((r, i) => {
      if (r.status === 'fulfilled') return;
      const name = steps[i]!.name;
      failed.push(name);
      this.opts.logger?.error({ err: r.reason as Error, phase, step: name }, 'shutdown step failed');
    });
    this.opts.logger?.info({ phase, steps: steps.map((s) => s.name), took_ms: Date.now() - started }, 'shutdown phase done');
    if (failed.length) throw new Error(`shutdown phase ${phase}: ${failed.join(', ')} failed`);
  }

  private async runStep(s: Registered, graceLeftMs: number, capMs: number | undefined): Promise<void> {
    const work = (async () => s.step(graceLeftMs))();
    if (capMs === undefined) {
      await work;
      return;
    }
    const timer = new AbortController();
    try {
      const outcome = await Promise.race([work.then(() => 'done' as const), sleep(capMs, 'timeout' as const, { signal: timer.signal, ref: false })]);
      if (outcome === 'timeout') throw new Error(`${s.name} did not finish within ${capMs} ms`);
    } finally {
      timer.abort();
    }
  }

  /** The phases as handleShutdown components, in order; each gets the grace left when it starts. */
  components(): Stoppable[] {
    return SHUTDOWN_PHASES.map((phase) => ({ stop: (graceLeftMs: number) => this.run(phase, graceLeftMs) }));
  }
}
