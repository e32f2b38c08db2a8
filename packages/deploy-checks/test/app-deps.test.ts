import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkAppDependencies } from '../src/index.js';
import { APPS, ROOT } from './paths.js';

describe('each app deploys with the dependencies it declares', () => {
  it.each(APPS)('%s: every import reachable from its entry resolves from its prod dependencies', async (app) => {
    expect(await checkAppDependencies({ root: ROOT, app: `apps/${app}` })).toEqual([]);
  });
});

describe('checkAppDependencies', () => {
  // a tiny workspace: app -> lib (which imports an optional peer and an undeclared package)
  const root = mkdtempSync(join(tmpdir(), 'app-deps-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const pkg = (dir: string, manifest: object, files: Record<string, string>) => {
    mkdirSync(join(root, dir, 'src'), { recursive: true });
    writeFileSync(join(root, dir, 'package.json'), JSON.stringify(manifest));
    for (const [f, text] of Object.entries(files)) writeFileSync(join(root, dir, f), text);
  };
  const link = (from: string, name: string, to: string) => {
    mkdirSync(join(root, from, 'node_modules', '@ragline'), { recursive: true });
    symlinkSync(join(root, to), join(root, from, 'node_modules', name));
  };
  pkg('packages/heavy', { name: '@ragline/heavy', exports: { '.': { '@ragline/source': './src/index.ts' } } }, { 'src/index.ts': 'export const heavy = 1;' });
  pkg(
    'packages/lib',
    {
      name: '@ragline/lib',
      dependencies: {},
      peerDependencies: { '@ragline/heavy': 'workspace:*' },
      exports: { '.': { '@ragline/source': './src/index.ts' } },
    },
    { 'src/index.ts': "import { heavy } from '@ragline/heavy';\nimport 'left-pad';\nexport const lib = heavy + 1;" },
  );
  pkg('apps/app', { name: '@ragline/app', dependencies: { '@ragline/lib': 'workspace:*' } }, { 'src/main.ts': "import { lib } from '@ragline/lib';\nimport 'node:fs';\nconsole.log(lib);" });
  link('apps/app', '@ragline/lib', 'packages/lib');
  link('packages/lib', '@ragline/heavy', 'packages/heavy');

  it('reports an optional peer the app does not provide and an undeclared import', async () => {
    const problems = await checkAppDependencies({ root, app: 'apps/app' });
    expect(problems.map((p) => [p.importer, p.imported, p.why])).toEqual([
      ['@ragline/lib', '@ragline/heavy', 'optional peer of @ragline/lib that @ragline/app does not depend on'],
      ['@ragline/lib', 'left-pad', 'not in the dependencies of @ragline/lib'],
    ]);
    expect(problems[0]!.file).toBe(join('packages', 'lib', 'src', 'index.ts'));
  });
});
