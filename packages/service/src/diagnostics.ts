import { mkdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';
import { writeHeapSnapshot } from 'node:v8';

export interface DiagnosticsOptions {
  /** where files go: RAGLINE_DATA_DIR/diagnostics */
  dir: string;
  /** file name prefix, e.g. the worker name */
  name: string;
  /** start allocation sampling at boot (RAGLINE_HEAP_SAMPLING=1) */
  samplingAtBoot?: boolean;
  log: (msg: string, fields: Record<string, unknown>) => void;
}

export interface Diagnostics {
  /** SIGUSR1: heap snapshot + memory summary; returns the files written */
  snapshot(): Promise<{ heapSnapshot: string; summary: string }>;
  /** SIGUSR2: start sampling, or stop it and write the profile */
  toggleSampling(): Promise<{ started: true } | { started: false; profile: string }>;
  stop(): Promise<void>;
}

const stamp = () => new Date().toISOString().replace(/[:.]/g, '-');

/**
 * RAGFlow's SIGUSR1/SIGUSR2 tracemalloc switches, the Node way: SIGUSR1 writes a V8 heap snapshot and
 * a memory summary, SIGUSR2 starts heap allocation sampling and, on the next SIGUSR2, writes its profile.
 */
export function installDiagnostics(opts: DiagnosticsOptions): Diagnostics {
  let session: Session | undefined;
  const ensureDir = () => mkdirSync(opts.dir, { recursive: true });

  async function startSampling(): Promise<void> {
    session = new Session();
    session.connect();
    await session.post('HeapProfiler.enable');
    await session.post('HeapProfiler.startSampling', { samplingInterval: 32768 });
  }

  const d: Diagnostics = {
    async snapshot() {
      ensureDir();
      const base = join(opts.dir, `${opts.name}-${stamp()}`);
      const mem = process.memoryUsage();
      const summary = `${base}.memory.json`;
      writeFileSync(
        summary,
        JSON.stringify(
          {
            pid: process.pid,
            at: new Date().toISOString(),
            rss_mb: +(mem.rss / 1048576).toFixed(1),
            heap_used_mb: +(mem.heapUsed / 1048576).toFixed(1),
            heap_total_mb: +(mem.heapTotal / 1048576).toFixed(1),
            external_mb: +(mem.external / 1048576).toFixed(1),
            array_buffers_mb: +(mem.arrayBuffers / 1048576).toFixed(1),
          },
          null,
          2,
        ),
      );
      const heapSnapshot = writeHeapSnapshot(`${base}.heapsnapshot`);
      opts.log('wrote heap snapshot and memory summary', { heap_snapshot: heapSnapshot, summary });
      return { heapSnapshot, summary };
    },
    async toggleSampling() {
      if (!session) {
        await startSampling();
        opts.log('heap allocation sampling started; send SIGUSR2 again to write the profile', {});
        return { started: true };
      }
      const { profile } = await session.post('HeapProfiler.stopSampling');
      session.disconnect();
      session = undefined;
      ensureDir();
      const file = join(opts.dir, `${opts.name}-${stamp()}.heapprofile`);
      writeFileSync(file, JSON.stringify(profile));
      opts.log('wrote heap allocation profile', { profile: file });
      return { started: false, profile: file };
    },
    async stop() {
      session?.disconnect();
      session = undefined;
    },
  };

  const report = (e: unknown) => opts.log('diagnostics failed', { err: (e as Error).message });
  process.on('SIGUSR1', () => void d.snapshot().catch(report));
  process.on('SIGUSR2', () => void d.toggleSampling().catch(report));
  if (opts.samplingAtBoot) void startSampling().catch(report);
  return d;
}
