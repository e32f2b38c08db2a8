import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { SHUTDOWN_PHASES, ShutdownPhases } from '../src/runtime/lifecycle.js';

const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };

describe('ShutdownPhases', () => {
  it('runs intake, in-flight, close, drain, telemetry in that order whatever the registration order', async () => {
    const phases = new ShutdownPhases({ logger: silent });
    const events: string[] = [];
    // registered backwards, the way the old list-position order went wrong
    phases.add('telemetry', 'spans', () => void events.push('telemetry'));
    phases.add('drain', 'nats', async () => {
      await sleep(5);
      events.push('drain');
    });
    phases.add('close', 'gate', () => void events.push('close'));
    phases.add('in-flight', 'consumer', async () => {
      await sleep(20);
      events.push('in-flight');
    });
    phases.add('intake', 'consumer', () => void events.push('intake'));
    expect(phases.plan()).toEqual([
      { phase: 'intake', steps: ['consumer'] },
      { phase: 'in-flight', steps: ['consumer'] },
      { phase: 'close', steps: ['gate'] },
      { phase: 'drain', steps: ['nats'] },
      { phase: 'telemetry', steps: ['spans'] },
    ]);
    for (const c of phases.components()) await c.stop(1000);
    expect(events).toEqual([...SHUTDOWN_PHASES]);
  });

  it('a stoppable stops intake in the first phase and is awaited in the second, all of them at once', async () => {
    const phases = new ShutdownPhases({ logger: silent });
    const events: string[] = [];
    const stoppable = (name: string, ms: number) => ({
      async stop(graceMs: number) {
        events.push(`${name}.stop(${graceMs})`);
        await sleep(ms);
        events.push(`${name}.stopped`);
      },
    });
    phases.addStoppable('events', stoppable('events', 300));
    phases.addStoppable('dead-letters', stoppable('dlq', 250));
    phases.add('close', 'taskdb', () => void events.push('taskdb.close'));
    const [intake, inFlight, close] = phases.components();
    await intake!.stop(800);
    // both stopped pulling before either finished its in-flight work
    expect(events).toEqual(['events.stop(800)', 'dlq.stop(800)']);
    const t0 = Date.now();
    await inFlight!.stop(790);
    // side by side: the in-flight phase took the longer one's time, not the sum
    expect(Date.now() - t0).toBeLessThan(500);
    expect(events.slice(2)).toEqual(['dlq.stopped', 'events.stopped']);
    await close!.stop(700);
    expect(events.at(-1)).toBe('taskdb.close');
  });

  it('runs the other steps of a phase when one fails, then rejects naming it', async () => {
    const errors: unknown[] = [];
    const phases = new ShutdownPhases({ logger: { ...silent, error: (o: unknown) => void errors.push(o) } });
    const ran: string[] = [];
    phases.add('close', 'docstore', () => {
      throw new Error('close failed');
    });
    phases.add('close', 'taskdb', async () => void ran.push('taskdb'));
    await expect(phases.run('close', 100)).rejects.toThrow('shutdown phase close: docstore failed');
    expect(ran).toEqual(['taskdb']);
    expect(errors).toHaveLength(1);
  });

  it('a hanging close or drain step is cut off after stepTimeoutMs; intake and in-flight keep their grace', async () => {
    const phases = new ShutdownPhases({ logger: silent, stepTimeoutMs: 50 });
    phases.add('drain', 'stuck', () => new Promise(() => undefined));
    const t0 = Date.now();
    await expect(phases.run('drain', 10_000)).rejects.toThrow('drain: stuck failed');
    expect(Date.now() - t0).toBeLessThan(1000);
    phases.add('in-flight', 'slow consumer', () => sleep(120));
    const t1 = Date.now();
    await phases.run('in-flight', 10_000);
    expect(Date.now() - t1).toBeGreaterThanOrEqual(115);
  });

  it('passes each step the grace left when its phase starts', async () => {
    const phases = new ShutdownPhases({ logger: silent });
    const seen: number[] = [];
    phases.add('in-flight', 'a', (left) => void seen.push(left));
    phases.add('in-flight', 'b', (left) => void seen.push(left));
    await phases.run('in-flight', 1234);
    expect(seen).toEqual([1234, 1234]);
  });

  it('refuses a phase it does not know', () => {
    const phases = new ShutdownPhases();
    expect(() => phases.add('later' as never, 'x', () => undefined)).toThrow('unknown shutdown phase "later"');
  });
});
