import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const pkg = join(dirname(fileURLToPath(import.meta.url)), '..');

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/** Sandbox workers run the built package (Node cannot load .ts): build it when the sources are newer. */
export function ensureBuilt(): void {
  const worker = join(pkg, 'dist', 'sandbox', 'worker.js');
  let built = 0;
  try {
    built = statSync(worker).mtimeMs;
  } catch {
    built = 0;
  }
  if (built >= newestMtime(join(pkg, 'src'))) return;
  const tsc = join(pkg, '..', '..', 'node_modules', 'typescript', 'bin', 'tsc');
  try {
    execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: pkg, stdio: 'pipe' });
  } catch {
    // tsc still emits on type errors elsewhere in the tree; the worker file is what matters
  }
  statSync(worker);
}
