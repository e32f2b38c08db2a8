import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CommonEnv, SettingsTableError, env, renderSettingsTable, replaceSettingsSection, z, type SettingsSlice } from '../src/index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '../../..');
const common: SettingsSlice = { name: 'CommonEnv', from: '@ragline/config', title: 'Every process', shape: CommonEnv.shape };
const Store = { STORE_URL: env.optional(env.url(['http'])).describe('where | it is'), STORE_SIZE: env.int(1).default(5).describe('how big') };
const store: SettingsSlice = { name: 'StoreSettings', from: '@ragline/store', title: 'Store', shape: Store };

function problems(fn: () => unknown): string[] {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(SettingsTableError);
    return (e as SettingsTableError).problems;
  }
  throw new Error('rendered');
}

describe('renderSettingsTable', () => {
  it('renders each slice once with the processes that compose it, then each process’s own keys', () => {
    const a = CommonEnv.extend({ ...Store, A_ONLY: z.string().default('').describe('own key of a') });
    const b = CommonEnv.extend({ B_FLAG: env.bool.default(true).describe('own key of b') });
    const out = renderSettingsTable({ common, slices: [store], readers: [{ name: 'a', file: 'apps/a/src/env.ts', schema: a }, { name: 'b', file: 'apps/b/src/env.ts', schema: b }] });
    expect(out).toContain('| a | `CommonEnv`, `StoreSettings`, its own keys |');
    expect(out).toContain('### Store: `StoreSettings` (`@ragline/store`)\n\nRead by: a.');
    expect(out).toContain('| `STORE_URL` | unset | where \\| it is |');
    expect(out).toContain('| `STORE_SIZE` | `5` | how big |');
    expect(out).toContain('| `NATS_URL` | `nats://127.0.0.1:4222` |');
    expect(out).toContain('| `RAGLINE_REPLICA` | `<hostname>_0` |');
    expect(out).toContain('### a only (`apps/a/src/env.ts`)\n\n| variable | default | meaning |\n|---|---|---|\n| `A_ONLY` | empty | own key of a |');
    expect(out).toContain('| `B_FLAG` | `true` | own key of b |');
  });

  it('refuses a key declared twice, a slice composed in part and a key without a description', () => {
    const again = CommonEnv.extend({ ...Store, STORE_SIZE: env.int(1).default(5).describe('how big') });
    expect(problems(() => renderSettingsTable({ common, slices: [store], readers: [{ name: 'a', file: 'a.ts', schema: again }] }))).toEqual([
      'STORE_SIZE is declared again in a.ts; it belongs to StoreSettings (@ragline/store): spread that slice instead',
    ]);
    const part = CommonEnv.extend({ STORE_URL: Store.STORE_URL });
    expect(problems(() => renderSettingsTable({ common, slices: [store], readers: [{ name: 'a', file: 'a.ts', schema: part }] }))).toEqual([
      'a.ts composes only part of StoreSettings: missing STORE_SIZE',
    ]);
    const queues = { QUEUES: env.optional(z.string()).describe('q') };
    const twoApps = [
      { name: 'a', file: 'a.ts', schema: CommonEnv.extend(queues) },
      { name: 'b', file: 'b.ts', schema: CommonEnv.extend({ QUEUES: env.optional(z.string()).describe('q') }) },
    ];
    expect(problems(() => renderSettingsTable({ common, slices: [], readers: twoApps }))).toEqual([
      'QUEUES is declared in both a.ts and b.ts: move it to the settings slice of the package both use',
    ]);
    const overlap: SettingsSlice = { ...store, name: 'Other', from: '@ragline/other', shape: { NATS_URL: CommonEnv.shape.NATS_URL } };
    expect(problems(() => renderSettingsTable({ common, slices: [overlap], readers: [] }))).toEqual([
      'NATS_URL is declared in both CommonEnv (@ragline/config) and Other (@ragline/other)',
    ]);
    const silent = CommonEnv.extend({ QUIET: z.string().default('x') });
    expect(problems(() => renderSettingsTable({ common, slices: [], readers: [{ name: 'a', file: 'a.ts', schema: silent }] }))).toEqual([
      "QUIET has no description: add .describe('...') as its last call",
    ]);
  });

  it('replaces only the text between the markers', () => {
    const readme = 'intro\n<!-- settings:start -->\nold\n<!-- settings:end -->\nrest\n';
    expect(replaceSettingsSection(readme, 'new')).toBe('intro\n<!-- settings:start -->\nnew\n<!-- settings:end -->\nrest\n');
    expect(() => replaceSettingsSection('no markers', 'new')).toThrow(/settings:start/);
  });
});

describe("README.md's settings table", () => {
  it('is the one the schemas generate (regenerate: pnpm build && node scripts/settings-table.mjs)', () => {
    const run = spawnSync(process.execPath, [join(root, 'scripts/settings-table.mjs'), '--check'], { cwd: root, encoding: 'utf8', timeout: 120_000 });
    // the script's message says what differs and how to regenerate the table
    expect(run.status, `${run.stderr}${run.stdout}`).toBe(0);
  });
});
