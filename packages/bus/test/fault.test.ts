import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { parseFaultPoints } from '../src/fault.js';

const dir = mkdtempSync(join(tmpdir(), 'ragline-fault-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs faultPoint(kind, subject) in a child process with RAGLINE_FAULT_KILL_AT set. */
function hit(spec: string, kind: string, subject: string) {
  // the built module: a child process of Node 20 cannot load the TypeScript source
  const mod = pathToFileURL(join(import.meta.dirname, '..', 'dist', 'fault.js')).href;
  return spawnSync(process.execPath, ['--input-type=module', '-e', `const f = await import(${JSON.stringify(mod)}); f.faultPoint(${JSON.stringify(kind)}, ${JSON.stringify(subject)}); console.log('alive');`], {
    env: { ...process.env, RAGLINE_FAULT_KILL_AT: spec },
    encoding: 'utf8',
  });
}

describe('RAGLINE_FAULT_KILL_AT (fault injection at a step boundary)', () => {
  it('parses points and refuses a bad one naming the setting', () => {
    expect(parseFaultPoints('publish:tasks.parse@/tmp/a,bridge.received@/tmp/b')).toEqual([
      { kind: 'publish', tail: 'tasks.parse', marker: '/tmp/a' },
      { kind: 'bridge.received', tail: '', marker: '/tmp/b' },
    ]);
    expect(parseFaultPoints(undefined)).toEqual([]);
    expect(() => parseFaultPoints('publish:x')).toThrow(/RAGLINE_FAULT_KILL_AT/);
  });

  it('SIGKILLs the process at the named point once, then lets the restarted one go on', () => {
    const marker = join(dir, 'publish-once');
    const spec = `publish:tasks.parse@${marker}`;
    expect(hit(spec, 'publish', 'ragline.index.manifest').stdout).toContain('alive');
    const killed = hit(spec, 'publish', 'ragline.tasks.parse');
    expect(killed.signal).toBe('SIGKILL');
    expect(existsSync(marker)).toBe(true);
    expect(hit(spec, 'publish', 'ragline.tasks.parse').stdout).toContain('alive');
  });
});
