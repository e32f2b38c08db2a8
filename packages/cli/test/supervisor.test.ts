import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { APPS, Supervisor, parseReplicas, type AppName } from '../src/supervisor.js';

// stays up until SIGTERM, then says goodbye and exits 0 (like a draining app)
const STAYS_UP = `
process.on('SIGTERM', () => { console.log('draining'); process.exit(0); });
console.log('up ' + process.env.RAGLINE_REPLICA + ' ' + process.env.SUPERVISOR_TEST_VAR);
setInterval(() => {}, 1000);
`;
const CRASHES = `console.error('boom'); process.exit(1);`;
// a wedged app: ignores SIGTERM, only SIGKILL ends it
const IGNORES_SIGTERM = `
process.on('SIGTERM', () => console.log('ignoring SIGTERM'));
console.log('up');
setInterval(() => {}, 1000);
`;

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function appsRoot(scripts: Partial<Record<AppName, string>>): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'ragline-supervisor-'));
  cleanups.push(() => rm(root, { recursive: true, force: true }));
  for (const app of APPS) {
    await mkdir(join(root, 'apps', app, 'dist'), { recursive: true });
    await writeFile(join(root, 'apps', app, 'dist', 'main.js'), scripts[app] ?? STAYS_UP);
  }
  return root;
}

function isAlive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function until(what: string, cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

function start(root: string, opts: Partial<ConstructorParameters<typeof Supervisor>[0]> = {}) {
  const lines: [string, string][] = [];
  const events: string[] = [];
  const sup = new Supervisor({
    root,
    env: { SUPERVISOR_TEST_VAR: 'passed-through' },
    onLine: (app, line) => lines.push([app, line]),
    onEvent: (msg) => events.push(msg),
    ...opts,
  });
  // never leave children behind, even when an assertion fails
  cleanups.push(() => sup.stop(2000));
  sup.start();
  return { sup, lines, events };
}

describe('Supervisor', () => {
  it('runs every app, restarts a crashing one with doubling back-off, and stop() terminates all', async () => {
    const root = await appsRoot({ embedder: CRASHES });
    const { sup, lines, events } = start(root, { replicas: { parser: 2 }, restartBaseMs: 40, restartMaxMs: 100 });

    const names = ['ingest-bridge', 'parser.0', 'parser.1', 'enricher', 'indexer', 'monitor'];
    await until('every stable app to report up', () => names.every((n) => lines.some(([app, l]) => app === n && l.startsWith('up '))));
    await until('three embedder restarts', () => events.length >= 3);

    // replicas get their own index in RAGLINE_REPLICA, and the supervisor's env reaches the child
    expect(lines.find(([app]) => app === 'parser.1')![1]).toMatch(/^up \S+_1 passed-through$/);
    expect(lines.find(([app]) => app === 'indexer')![1]).toMatch(/^up \S+_0 passed-through$/);
    expect(lines).toContainEqual(['embedder', 'boom']);

    expect(events.slice(0, 3)).toEqual([
      'embedder exited (code 1); restarting in 40 ms (restart #1)',
      'embedder exited (code 1); restarting in 80 ms (restart #2)',
      'embedder exited (code 1); restarting in 100 ms (restart #3)',
    ]);
    expect(events.every((e) => e.startsWith('embedder '))).toBe(true);

    const procs = sup.processes;
    expect(procs.map((p) => `${p.app}.${p.index}`)).toEqual(['ingest-bridge.0', 'parser.0', 'parser.1', 'enricher.0', 'embedder.0', 'indexer.0', 'monitor.0']);
    expect(procs.find((p) => p.app === 'embedder')!.crashes).toBeGreaterThanOrEqual(3);
    const stable = procs.filter((p) => p.app !== 'embedder');
    expect(stable.every((p) => p.crashes === 0 && isAlive(p.pid))).toBe(true);

    await sup.stop(5000);
    for (const p of sup.processes) expect(isAlive(p.pid), `${p.app}.${p.index}`).toBe(false);
    // each stable app got SIGTERM and drained rather than being killed
    for (const n of names) expect(lines).toContainEqual([n, 'draining']);

    // no restarts after stop
    const after = events.length;
    await sleep(250);
    expect(events.length).toBe(after);
    expect(sup.processes.every((p) => !isAlive(p.pid))).toBe(true);
  });

  it('kills an app that ignores SIGTERM once the grace period is over', async () => {
    const root = await appsRoot({ indexer: IGNORES_SIGTERM });
    const { sup, lines } = start(root);
    await until('every app to report up', () => APPS.every((a) => lines.some(([app, l]) => app === a && l.startsWith('up'))));

    const started = Date.now();
    await sup.stop(300);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    const indexer = sup.processes.find((p) => p.app === 'indexer')!;
    await until('the wedged indexer to be killed', () => !isAlive(indexer.pid), 3000);
    expect(lines).toContainEqual(['indexer', 'ignoring SIGTERM']);
    expect(sup.processes.every((p) => !isAlive(p.pid))).toBe(true);
  });
});

describe('parseReplicas strictness', () => {
  it('accepts only plain decimal counts', () => {
    expect(() => parseReplicas('embedder=1e1')).toThrow(/count from 1 to 64/);
    expect(() => parseReplicas('embedder=0x10')).toThrow(/count from 1 to 64/);
    expect(parseReplicas('embedder=10')).toEqual({ embedder: 10 });
  });
});
