import { spawn, type ChildProcess } from 'node:child_process';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { APP_PROCESS_ENV } from '@ragline/config';

export const APPS = ['ingest-bridge', 'parser', 'enricher', 'embedder', 'indexer', 'monitor'] as const;
export type AppName = (typeof APPS)[number];

export interface SupervisorOptions {
  /** repository root holding apps/<name>/dist/main.js */
  root: string;
  replicas?: Partial<Record<AppName, number>>;
  env?: NodeJS.ProcessEnv;
  /** receives every output line of every child, prefixed with its name */
  onLine?: (app: string, line: string) => void;
  onEvent?: (msg: string) => void;
  /** restart back-off: base doubles per crash in a row, capped; default 500 ms / 15 s */
  restartBaseMs?: number;
  restartMaxMs?: number;
}

interface Child {
  app: AppName;
  index: number;
  proc?: ChildProcess;
  crashes: number;
  startedAt: number;
}

/** Parses "embedder=4,parser=2" into per-app replica counts. */
export function parseReplicas(spec: string | undefined): Partial<Record<AppName, number>> {
  const out: Partial<Record<AppName, number>> = {};
  if (!spec) return out;
  for (const part of spec.split(',')) {
    const [name, n] = part.split('=').map((s) => s.trim());
    const app = (name === 'bridge' ? 'ingest-bridge' : name) as AppName;
    if (!APPS.includes(app)) throw new Error(`--replicas: unknown app "${name}" (apps: ${APPS.join(', ')})`);
    const count = /^\d+$/.test(n ?? '') ? Number(n) : NaN;
    if (!Number.isInteger(count) || count < 1 || count > 64) throw new Error(`--replicas: "${part}" needs a count from 1 to 64`);
    out[app] = count;
  }
  return out;
}

/**
 * Runs every app as its own process (as in production) and restarts any that dies, with back-off.
 * stop() sends SIGTERM so each app drains, then waits for all to exit.
 */
export class Supervisor {
  private readonly children: Child[] = [];
  private stopping = false;

  constructor(private readonly opts: SupervisorOptions) {
    for (const app of APPS) {
      const n = opts.replicas?.[app] ?? 1;
      for (let i = 0; i < n; i++) this.children.push({ app, index: i, crashes: 0, startedAt: 0 });
    }
  }

  get processes() {
    return this.children.map((c) => ({ app: c.app, index: c.index, pid: c.proc?.pid, crashes: c.crashes }));
  }

  start(): void {
    for (const c of this.children) this.spawn(c);
  }

  private spawn(c: Child): void {
    const name = this.children.filter((x) => x.app === c.app).length > 1 ? `${c.app}.${c.index}` : c.app;
    const proc = spawn(process.execPath, [join(this.opts.root, 'apps', c.app, 'dist', 'main.js')], {
      env: { ...APP_PROCESS_ENV, ...process.env, ...this.opts.env, RAGLINE_REPLICA: `${hostname()}_${c.index}` },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    c.proc = proc;
    c.startedAt = Date.now();
    for (const stream of [proc.stdout, proc.stderr]) {
      createInterface({ input: stream }).on('line', (line) => this.opts.onLine?.(name, line));
    }
    proc.on('exit', (code, signal) => {
      if (this.stopping) return;
      // a process that ran a while before dying starts a fresh back-off sequence
      if (Date.now() - c.startedAt > 60_000) c.crashes = 0;
      c.crashes++;
      const delay = Math.min(this.opts.restartMaxMs ?? 15_000, (this.opts.restartBaseMs ?? 500) * 2 ** (c.crashes - 1));
      this.opts.onEvent?.(`${name} exited (${signal ?? `code ${code}`}); restarting in ${delay} ms (restart #${c.crashes})`);
      setTimeout(() => {
        if (!this.stopping) this.spawn(c);
      }, delay).unref();
    });
  }

  async stop(graceMs = 30_000): Promise<void> {
    this.stopping = true;
    const alive = this.children.map((c) => c.proc).filter((p): p is ChildProcess => !!p && p.exitCode === null && p.signalCode === null);
    const exited = alive.map((p) => new Promise<void>((r) => p.once('exit', () => r())));
    for (const p of alive) p.kill('SIGTERM');
    const done = await Promise.race([Promise.all(exited).then(() => true), sleep(graceMs).then(() => false)]);
    if (!done) for (const p of alive) if (p.exitCode === null) p.kill('SIGKILL');
  }
}
