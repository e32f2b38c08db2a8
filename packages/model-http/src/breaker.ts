import { isRetryableError, ModelCallError } from './errors.js';
import { sleep } from './http.js';

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface CircuitBreakerOptions {
  /** consecutive transient failures that open the circuit; default 5 */
  failureThreshold?: number;
  /** how long the circuit stays open before one probe call is let through; default 15000 */
  cooldownMs?: number;
  /**
   * how long one call may wait for the circuit to close before it gives up with a retryable
   * CircuitOpenError (whose retryAfterMs is the cool-down left); default 120000
   */
  maxWaitMs?: number;
  /** name used in messages, e.g. the embd_id */
  name?: string;
  /** called on every state change (logs, metrics) */
  onStateChange?: (state: BreakerState, name: string) => void;
  now?: () => number;
  /** the error a call gives up with while the circuit stays open; default a CircuitOpenError */
  openError?: (message: string, retryAfterMs: number) => Error;
}

/** The circuit is open: the backend failed repeatedly and a call waited as long as it may. */
export class CircuitOpenError extends ModelCallError {
  override readonly name: string = 'CircuitOpenError';
  constructor(message: string, retryAfterMs: number) {
    super(message, { retryable: true, retryAfterMs });
  }
}

/** A transient failure (network, timeout, 429, 5xx) counts against the backend; anything else proves it answers. */
const isTransient = isRetryableError;

/**
 * Per-backend circuit breaker. Closed: calls run, consecutive transient failures are counted.
 * Open (after `failureThreshold`): calls wait (they do not fail, so a queued message is not
 * redelivered for nothing) and `allowsWork()` is false so consumers stop pulling. After
 * `cooldownMs` it is half-open: exactly one probe call runs while the others wait for its outcome;
 * success closes the circuit, a transient failure opens it for another cool-down.
 */
export class CircuitBreaker {
  private stateValue: BreakerState = 'closed';
  private failures = 0;
  private openedAt = 0;
  private probe: Promise<unknown> | undefined;
  private readonly threshold: number;
  private readonly cooldownMs: number;
  private readonly maxWaitMs: number;
  private readonly now: () => number;
  readonly label: string;

  constructor(private readonly opts: CircuitBreakerOptions = {}) {
    this.threshold = opts.failureThreshold ?? 5;
    this.cooldownMs = opts.cooldownMs ?? 15_000;
    this.maxWaitMs = opts.maxWaitMs ?? 120_000;
    this.now = opts.now ?? Date.now;
    this.label = opts.name ?? 'backend';
    if (!Number.isInteger(this.threshold) || this.threshold < 1) throw new RangeError(`failureThreshold must be a positive integer, got ${this.threshold}`);
  }

  get state(): BreakerState {
    if (this.stateValue === 'open' && this.cooldownLeft() === 0) return 'half-open';
    return this.stateValue;
  }

  get consecutiveFailures(): number {
    return this.failures;
  }

  /** false while open and cooling down: the consumer's `canPull` */
  allowsWork(): boolean {
    return this.state !== 'open';
  }

  private cooldownLeft(): number {
    return Math.max(0, this.openedAt + this.cooldownMs - this.now());
  }

  private transition(to: BreakerState): void {
    if (this.stateValue === to) return;
    this.stateValue = to;
    this.opts.onStateChange?.(to, this.label);
  }

  private succeeded(): void {
    this.failures = 0;
    this.transition('closed');
  }

  private failed(probe: boolean): void {
    this.failures++;
    if (probe || this.failures >= this.threshold) {
      this.openedAt = this.now();
      // a second trip while already open still restarts the cool-down
      this.stateValue = 'closed';
      this.transition('open');
    }
  }

  private async settle<T>(fn: () => Promise<T>, probe: boolean): Promise<T> {
    try {
      const r = await fn();
      this.succeeded();
      return r;
    } catch (err) {
      if (isTransient(err)) this.failed(probe);
      else this.succeeded();
      throw err;
    }
  }

  /** Runs `fn` through the breaker; see the class comment for what happens while open. */
  async run<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    const deadline = this.now() + this.maxWaitMs;
    for (;;) {
      signal?.throwIfAborted();
      const state = this.state;
      if (state === 'closed') return this.settle(fn, false);
      if (state === 'open') {
        const left = this.cooldownLeft();
        if (this.now() + left > deadline) {
          const message = `${this.label}: circuit open after ${this.failures} consecutive failures; retrying in ${left} ms`;
          throw this.opts.openError ? this.opts.openError(message, left) : new CircuitOpenError(message, left);
        }
        await sleep(left, signal);
        continue;
      }
      // half-open
      if (this.probe) {
        await this.probe.catch(() => undefined);
        continue;
      }
      this.stateValue = 'half-open';
      const p = this.settle(fn, true);
      this.probe = p;
      try {
        return await p;
      } finally {
        this.probe = undefined;
      }
    }
  }
}
