import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';

const dirs: string[] = [];
afterEach(() => {
  while (dirs.length) rmSync(dirs.pop()!, { recursive: true, force: true });
});

describe('SIGUSR1 / SIGUSR2 diagnostics', () => {
  it('writes a heap snapshot with a memory summary, and an allocation profile on the second SIGUSR2', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ragline-diag-'));
    dirs.push(dir);
    const child = spawn(process.execPath, [join(import.meta.dirname, 'fixtures', 'diag-child.mjs'), dir], { stdio: ['ignore', 'pipe', 'inherit'] });
    const lines: Record<string, unknown>[] = [];
    const waitFor = (pred: (l: string) => boolean) =>
      new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error('timed out')), 20_000);
        const rl = createInterface({ input: child.stdout! });
        rl.on('line', (l) => {
          if (l.startsWith('{')) lines.push(JSON.parse(l));
          if (pred(l)) {
            clearTimeout(t);
            rl.close();
            resolve();
          }
        });
      });
    try {
      await waitFor((l) => l === 'ready');
      child.kill('SIGUSR1');
      await waitFor((l) => l.includes('wrote heap snapshot'));
      child.kill('SIGUSR2');
      await waitFor((l) => l.includes('sampling started'));
      child.kill('SIGUSR2');
      await waitFor((l) => l.includes('wrote heap allocation profile'));
    } finally {
      child.kill('SIGKILL');
    }
    const files = readdirSync(dir);
    const summary = files.find((f) => f.endsWith('.memory.json'))!;
    expect(files.some((f) => f.endsWith('.heapsnapshot'))).toBe(true);
    const mem = JSON.parse(readFileSync(join(dir, summary), 'utf8'));
    expect(mem.rss_mb).toBeGreaterThan(0);
    expect(mem).toHaveProperty('heap_used_mb');
    expect(mem).toHaveProperty('external_mb');
    const profile = files.find((f) => f.endsWith('.heapprofile'))!;
    expect(JSON.parse(readFileSync(join(dir, profile), 'utf8'))).toHaveProperty('head');
    expect(lines.find((l) => l.msg === 'wrote heap snapshot and memory summary')!.heap_snapshot).toContain(dir);
  });
});
