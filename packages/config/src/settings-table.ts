import type { z } from 'zod';
import { settingMeta, type SettingsShape } from './schema.js';

/** One package's settings slice, as the README's settings table shows it. */
export interface SettingsSlice {
  /** the exported name, e.g. `StorageSettings` */
  name: string;
  /** the package that owns it, e.g. `@ragline/storage` */
  from: string;
  /** heading words, e.g. `Object storage` */
  title: string;
  shape: SettingsShape;
}

/** A process that reads settings: an app's env schema or the CLI's. */
export interface SettingsReader {
  name: string;
  /** where its schema is composed, e.g. `apps/parser/src/env.ts` */
  file: string;
  schema: z.ZodObject;
}

export const SETTINGS_START = '<!-- settings:start -->';
export const SETTINGS_END = '<!-- settings:end -->';

/** Thrown when the schemas break a rule the table relies on; lists every problem. */
export class SettingsTableError extends Error {
  override readonly name = 'SettingsTableError';
  constructor(readonly problems: string[]) {
    super(`settings schemas:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

const cell = (s: string) => s.replace(/\r?\n\s*/g, ' ').replace(/\|/g, '\\|');

function shownDefault(schema: z.ZodType): string {
  const meta = settingMeta(schema);
  if (meta.shownDefault !== undefined) return `\`${meta.shownDefault}\``;
  const parsed = schema.safeParse(undefined);
  if (!parsed.success || parsed.data === undefined) return 'unset';
  if (parsed.data === '') return 'empty';
  return `\`${String(parsed.data)}\``;
}

function table(shape: SettingsShape, problems: string[]): string {
  const rows = Object.entries(shape).map(([key, schema]) => {
    const description = settingMeta(schema as z.ZodType).description;
    if (!description) problems.push(`${key} has no description: add .describe('...') as its last call`);
    return `| \`${key}\` | ${cell(shownDefault(schema as z.ZodType))} | ${cell(description ?? '')} |`;
  });
  return ['| variable | default | meaning |', '|---|---|---|', ...rows].join('\n');
}

const list = (names: string[]) => (names.length ? names.join(', ') : 'nobody');

/**
 * The README's settings section (between the markers) from the schemas: the settings every process
 * shares, each package slice with the processes that compose it, and each process's own keys.
 * Throws SettingsTableError when a key is declared twice (a process re-declares a slice's key, two
 * slices or two processes declare the same key), a slice is only partly composed, or a key has no
 * description.
 */
export function renderSettingsTable(opts: { common: SettingsSlice; slices: SettingsSlice[]; readers: SettingsReader[] }): string {
  const problems: string[] = [];
  const all = [opts.common, ...opts.slices];
  const owner = new Map<string, SettingsSlice>();
  for (const slice of all) {
    for (const key of Object.keys(slice.shape)) {
      const other = owner.get(key);
      if (other) problems.push(`${key} is declared in both ${other.name} (${other.from}) and ${slice.name} (${slice.from})`);
      else owner.set(key, slice);
    }
  }
  const readersOf = new Map<SettingsSlice, string[]>(all.map((s) => [s, []]));
  const own = new Map<SettingsReader, SettingsShape>();
  const ownedBy = new Map<string, string>();
  for (const reader of opts.readers) {
    const shape = reader.schema.shape as SettingsShape;
    const mine: Record<string, z.ZodType> = {};
    for (const [key, schema] of Object.entries(shape)) {
      const slice = owner.get(key);
      if (!slice) {
        const other = ownedBy.get(key);
        if (other) problems.push(`${key} is declared in both ${other} and ${reader.file}: move it to the settings slice of the package both use`);
        ownedBy.set(key, reader.file);
        mine[key] = schema as z.ZodType;
      } else if (slice.shape[key] !== schema) {
        problems.push(`${key} is declared again in ${reader.file}; it belongs to ${slice.name} (${slice.from}): spread that slice instead`);
      }
    }
    for (const slice of all) {
      const keys = Object.keys(slice.shape);
      const present = keys.filter((k) => k in shape);
      if (present.length === keys.length) readersOf.get(slice)!.push(reader.name);
      else if (present.length > 0 || slice === opts.common) {
        problems.push(`${reader.file} composes only part of ${slice.name}: missing ${keys.filter((k) => !(k in shape)).join(', ')}`);
      }
    }
    own.set(reader, mine);
  }

  const out: string[] = [
    '<!-- generated from the settings schemas by `node scripts/settings-table.mjs` (after `pnpm build`); edit the .describe() texts next to each key, not this section -->',
    '',
    'Each process composes its settings in its `src/env.ts` (the CLI in `packages/cli/src/context.ts`) from the slices the packages it uses export, plus its own keys:',
    '',
    '| process | reads |',
    '|---|---|',
    ...opts.readers.map((r) => {
      const slices = all.filter((s) => readersOf.get(s)!.includes(r.name)).map((s) => `\`${s.name}\``);
      const mine = Object.keys(own.get(r)!).length ? ['its own keys'] : [];
      return `| ${r.name} | ${[...slices, ...mine].join(', ')} |`;
    }),
  ];
  for (const slice of all) {
    out.push('', `### ${slice.title}: \`${slice.name}\` (\`${slice.from}\`)`, '', `Read by: ${list(readersOf.get(slice)!)}.`, '', table(slice.shape, problems));
  }
  for (const reader of opts.readers) {
    const mine = own.get(reader)!;
    if (!Object.keys(mine).length) continue;
    out.push('', `### ${reader.name} only (\`${reader.file}\`)`, '', table(mine, problems));
  }
  if (problems.length) throw new SettingsTableError(problems);
  return out.join('\n');
}

/** `readme` with the text between the settings markers replaced by `section`. */
export function replaceSettingsSection(readme: string, section: string): string {
  const start = readme.indexOf(SETTINGS_START);
  const end = readme.indexOf(SETTINGS_END);
  if (start < 0 || end < start) throw new Error(`README.md has no ${SETTINGS_START} ... ${SETTINGS_END} section`);
  return `${readme.slice(0, start + SETTINGS_START.length)}\n${section}\n${readme.slice(end)}`;
}
