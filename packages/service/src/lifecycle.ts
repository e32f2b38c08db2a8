import type { Logger, Telemetry } from '@ragline/telemetry';

export interface Stoppable {
  /** stop pulling, finish or hand back in-flight work within graceMs */
  stop(graceMs: number): Promise<void>;
}

export interface LifecycleOptions {
  logger: Logger;
  telemetry?: Telemetry;
  graceMs: number;
  /** stopped in order: consumers first, then servers and connections */
  components: (Stoppable | (() => Promise<void>))[];
  /** default process.exit; tests pass their own */
  exit?: (code: number) => void;
}

/**
 * SIGTERM/SIGINT drain: stop pulling, let in-flight work finish (or nak it back), close
 * connections, flush telemetry, exit 0. A second signal exits at once.
 */
export function handleShutdown(opts: LifecycleOptions): { shutdown(reason: string): Promise<void> } {
  const exit = opts.exit ?? ((code: number) => process.exit(code));
  let shuttingDown = false;
  async function shutdown(reason: string): Promise<void> {
    if (shuttingDown) return;
    shuttingDown = true;
    const started = Date.now();
    opts.logger.info({ reason, grace_ms: opts.graceMs }, 'draining');
    let code = 0;
    for (const c of opts.components) {
      const left = Math.max(0, opts.graceMs - (Date.now() - started));
      try {
        if (typeof c === 'function') await c();
        else await c.stop(left);
      } catch (e) {
        code = 1;
        opts.logger.error({ err: e }, 'error while draining');
      }
    }
    await opts.telemetry?.shutdown();
    opts.logger.info({ took_ms: Date.now() - started }, 'stopped');
    exit(code);
  }
  let signals = 0;
  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    process.on(sig, () => {
      signals++;
      if (signals > 1) {
        opts.logger.warn('second signal: exiting now');
        exit(1);
      }
      void shutdown(sig);
    });
  }
  return { shutdown };
}
