import { describe, expect, it } from 'vitest';
import { CircuitBreaker, CircuitOpenError, EmbeddingError, type BreakerState } from '../src/index.js';

const transient = () => new EmbeddingError('HTTP 503: down', { status: 503, retryable: true });
const permanent = () => new EmbeddingError('HTTP 400: bad input', { status: 400, retryable: false });

describe('CircuitBreaker', () => {
  it('opens after N consecutive transient failures; permanent errors and successes reset the count', async () => {
    const changes: BreakerState[] = [];
    const b = new CircuitBreaker({ failureThreshold: 3, cooldownMs: 60_000, onStateChange: (s) => changes.push(s) });
    await expect(b.run(() => Promise.reject(transient()))).rejects.toThrow('down');
    await expect(b.run(() => Promise.reject(transient()))).rejects.toThrow('down');
    // the server answered (badly): it is up
    await expect(b.run(() => Promise.reject(permanent()))).rejects.toThrow('bad input');
    expect(b.consecutiveFailures).toBe(0);
    for (let i = 0; i < 2; i++) await expect(b.run(() => Promise.reject(transient()))).rejects.toThrow();
    expect(b.state).toBe('closed');
    await b.run(() => Promise.resolve(1));
    for (let i = 0; i < 3; i++) await expect(b.run(() => Promise.reject(transient()))).rejects.toThrow();
    expect(b.state).toBe('open');
    expect(b.allowsWork()).toBe(false);
    expect(changes).toEqual(['open']);
  });

  it('makes calls wait while open, lets one probe through when half-open, and closes on its success', async () => {
    const b = new CircuitBreaker({ failureThreshold: 1, cooldownMs: 150 });
    await expect(b.run(() => Promise.reject(transient()))).rejects.toThrow();
    expect(b.state).toBe('open');
    let running = 0;
    let maxRunning = 0;
    const calls: number[] = [];
    const opened = Date.now();
    const work = (i: number) =>
      b.run(async () => {
        running++;
        maxRunning = Math.max(maxRunning, running);
        calls.push(i);
        await new Promise((r) => setTimeout(r, 30));
        running--;
        return i;
      });
    const results = await Promise.all([work(1), work(2), work(3)]);
    expect(results).toEqual([1, 2, 3]);
    expect(Date.now() - opened).toBeGreaterThanOrEqual(140);
    // the probe ran alone; the others followed once it closed the circuit
    expect(calls).toHaveLength(3);
    expect(maxRunning).toBe(2);
    expect(b.state).toBe('closed');
  });

  it('re-opens when the probe fails, and gives up with a retryable CircuitOpenError after maxWaitMs', async () => {
    const b = new CircuitBreaker({ failureThreshold: 1, cooldownMs: 100, maxWaitMs: 250 });
    await expect(b.run(() => Promise.reject(transient()))).rejects.toThrow();
    let attempts = 0;
    const started = Date.now();
    const err = await b
      .run(() => {
        attempts++;
        return Promise.reject(transient());
      })
      .catch((e: unknown) => e);
    // first half-open probe fails -> the error of that call surfaces
    expect(err).toBeInstanceOf(EmbeddingError);
    expect(attempts).toBe(1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(90);
    expect(b.state).toBe('open');
    const b2 = new CircuitBreaker({ failureThreshold: 1, cooldownMs: 10_000, maxWaitMs: 50, name: 'tei@x' });
    await b2.run(() => Promise.reject(transient())).catch(() => undefined);
    const open = (await b2.run(() => Promise.resolve(1)).catch((e: unknown) => e)) as CircuitOpenError;
    expect(open).toBeInstanceOf(CircuitOpenError);
    expect(open.retryable).toBe(true);
    expect(open.retryAfterMs).toBeGreaterThan(9_000);
    expect(open.message).toContain('tei@x');
  });

  it('stops waiting when the caller aborts', async () => {
    const b = new CircuitBreaker({ failureThreshold: 1, cooldownMs: 10_000 });
    await b.run(() => Promise.reject(transient())).catch(() => undefined);
    const ac = new AbortController();
    setTimeout(() => ac.abort(new Error('shutting down')), 50);
    await expect(b.run(() => Promise.resolve(1), ac.signal)).rejects.toThrow('shutting down');
  });
});
