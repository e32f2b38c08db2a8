import { setTimeout as sleep } from 'node:timers/promises';
import { createLogger, startTelemetry, type Telemetry } from '@ragline/telemetry';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { handleShutdown, type LifecycleOptions, type Stoppable } from '../src/index.js';

const SIGNALS = ['SIGTERM', 'SIGINT'] as const;
let before: Record<string, NodeJS.SignalsListener[]>;
beforeEach(() => {
  before = Object.fromEntries(SIGNALS.map((s) => [s, process.listeners(s)]));
});
afterEach(() => {
  // handleShutdown installs process signal handlers; take ours off the vitest worker again
  for (const s of SIGNALS) for (const l of process.listeners(s)) if (!before[s]!.includes(l)) process.off(s, l);
});

function addedListener(sig: (typeof SIGNALS)[number]): () => void {
  const added = process.listeners(sig).filter((l) => !before[sig]!.includes(l));
  expect(added).toHaveLength(1);
  return () => added[0]!(sig);
}

function setup() {
  const events: string[] = [];
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({ service: 'svc', level: 'info', destination: { write: (s: string) => void lines.push(JSON.parse(s)) } });
  const real: Telemetry = startTelemetry({ serviceName: 'svc', env: {} });
  // the real telemetry, with its shutdown observed
  const telemetry: Telemetry = {
    ...real,
    shutdown: async () => {
      events.push('telemetry.shutdown');
      await real.shutdown();
    },
  };
  const exitCodes: number[] = [];
  let firstExit!: (code: number) => void;
  /** resolves with the first exit code */
  const done = new Promise<number>((resolve) => (firstExit = resolve));
  const exit: LifecycleOptions['exit'] = (code) => {
    events.push(`exit ${code}`);
    exitCodes.push(code);
    firstExit(code);
  };
  const stoppable = (name: string, workMs: number, grace: number[] = []): Stoppable => ({
    async stop(graceMs) {
      grace.push(graceMs);
      events.push(`${name}.stop`);
      await sleep(workMs);
    },
  });
  return { events, lines, logger, telemetry, exitCodes, done, stoppable, exit };
}

describe('handleShutdown', () => {
  it('stops components in order with the remaining grace budget, flushes telemetry, exits 0', async () => {
    const s = setup();
    const consumerGrace: number[] = [];
    const serverGrace: number[] = [];
    const { shutdown } = handleShutdown({
      logger: s.logger,
      telemetry: s.telemetry,
      graceMs: 1000,
      components: [
        s.stoppable('consumer', 150, consumerGrace),
        async () => {
          s.events.push('close-connections');
        },
        s.stoppable('server', 0, serverGrace),
      ],
      exit: s.exit,
    });
    await shutdown('test');
    expect(await s.done).toBe(0);
    expect(s.events).toEqual(['consumer.stop', 'close-connections', 'server.stop', 'telemetry.shutdown', 'exit 0']);
    expect(consumerGrace[0]).toBeGreaterThan(950);
    expect(consumerGrace[0]).toBeLessThanOrEqual(1000);
    // the consumer used ~150 ms of the budget
    expect(serverGrace[0]).toBeLessThanOrEqual(1000 - 140);
    expect(serverGrace[0]).toBeGreaterThan(500);
    expect(s.lines[0]).toMatchObject({ level: 'info', msg: 'draining', reason: 'test', grace_ms: 1000 });
    expect(s.lines.at(-1)).toMatchObject({ level: 'info', msg: 'stopped' });
  });

  it('gives later components a zero budget once the grace period is used up', async () => {
    const s = setup();
    const grace: number[] = [];
    const { shutdown } = handleShutdown({
      logger: s.logger,
      graceMs: 30,
      components: [s.stoppable('slow', 80), s.stoppable('late', 0, grace)],
      exit: s.exit,
    });
    await shutdown('test');
    expect(await s.done).toBe(0);
    expect(grace).toEqual([0]);
  });

  it('keeps draining after a component throws, then exits 1', async () => {
    const s = setup();
    const { shutdown } = handleShutdown({
      logger: s.logger,
      telemetry: s.telemetry,
      graceMs: 500,
      components: [
        async () => {
          s.events.push('broken');
          throw new Error('close failed');
        },
        s.stoppable('after', 0),
      ],
      exit: s.exit,
    });
    await shutdown('test');
    expect(await s.done).toBe(1);
    expect(s.events).toEqual(['broken', 'after.stop', 'telemetry.shutdown', 'exit 1']);
    const err = s.lines.find((l) => l.msg === 'error while draining');
    expect(err).toMatchObject({ level: 'error' });
    expect(JSON.stringify(err)).toContain('close failed');
  });

  it('runs once when shutdown is called twice', async () => {
    const s = setup();
    const { shutdown } = handleShutdown({
      logger: s.logger,
      telemetry: s.telemetry,
      graceMs: 500,
      components: [s.stoppable('consumer', 50)],
      exit: s.exit,
    });
    await Promise.all([shutdown('first'), shutdown('second')]);
    await shutdown('third');
    expect(s.events).toEqual(['consumer.stop', 'telemetry.shutdown', 'exit 0']);
    expect(s.exitCodes).toEqual([0]);
    expect(s.lines.filter((l) => l.msg === 'draining')).toHaveLength(1);
  });

  it('drains on the first SIGTERM and exits 1 at once on a second signal (handlers called directly)', async () => {
    const s = setup();
    handleShutdown({
      logger: s.logger,
      graceMs: 1000,
      components: [s.stoppable('consumer', 200)],
      exit: s.exit,
    });
    const onTerm = addedListener('SIGTERM');
    const onInt = addedListener('SIGINT');
    onTerm();
    await sleep(20);
    expect(s.events).toEqual(['consumer.stop']);
    onInt();
    expect(s.exitCodes).toEqual([1]);
    expect(s.lines.find((l) => l.msg === 'draining')).toMatchObject({ reason: 'SIGTERM' });
    // the drain that was under way still finishes on its own
    await sleep(300);
    expect(s.exitCodes).toEqual([1, 0]);
  });
});
