import { Supervisor, type AppName } from '../../../packages/cli/src/supervisor.js';
import { ROOT, type Environment } from '../../support/pipeline.js';

export type { AppName };

/** The apps of an environment run by `ragline up`'s Supervisor, with what it logged. */
export interface Supervised {
  supervisor: Supervisor;
  /** the supervisor's own lines ("parser exited (SIGKILL); restarting in ... (restart #1)") */
  events: string[];
  /** pids of the running children of one app */
  pids(app: AppName): number[];
  /** SIGKILLs every running child of `app` (or only the given replica indexes) and returns their pids */
  kill9(app: AppName, indexes?: number[]): number[];
  /** waits until the supervisor has replaced every killed child of `app` with a new process */
  waitRestarted(app: AppName, killed: number[], timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts every app of the environment under a Supervisor (what `ragline up` runs): a child that
 * dies is restarted with back-off and the restart is logged. Output lines go to `env.logs`.
 */
export function supervise(env: Environment, replicas: Partial<Record<AppName, number>> = {}, more: Record<string, string> = {}): Supervised {
  const events: string[] = [];
  const supervisor = new Supervisor({
    root: ROOT,
    replicas,
    env: { ...env.env, ...more },
    onLine: (app, line) => env.logs.push({ app, line }),
    onEvent: (msg) => {
      events.push(msg);
      env.logs.push({ app: 'supervisor', line: msg });
    },
    // quick restarts keep the fault runs short; the back-off itself is the supervisor's own unit test
    restartBaseMs: 300,
  });
  supervisor.start();
  const running = (app: AppName) => supervisor.processes.filter((p) => p.app === app && p.pid !== undefined);
  return {
    supervisor,
    events,
    pids: (app) => running(app).map((p) => p.pid!),
    kill9(app, indexes) {
      const victims = running(app).filter((p) => !indexes || indexes.includes(p.index));
      for (const p of victims) process.kill(p.pid!, 'SIGKILL');
      return victims.map((p) => p.pid!);
    },
    async waitRestarted(app, killed, timeoutMs = 30_000) {
      const end = Date.now() + timeoutMs;
      for (;;) {
        // a child keeps its old pid until the supervisor spawns its replacement
        const now = running(app).map((p) => p.pid!);
        if (now.every((pid) => !killed.includes(pid))) return;
        if (Date.now() > end) throw new Error(`${app} not restarted within ${timeoutMs} ms (killed ${killed.join(', ')}, running ${now.join(', ')})`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    stop: () => supervisor.stop(20_000),
  };
}
