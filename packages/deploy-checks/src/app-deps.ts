import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { build, type Plugin } from 'esbuild';

/** An import that a deployed app (prod dependencies only) could not resolve. */
export interface AppDependencyProblem {
  /** package whose file does the import */
  importer: string;
  /** package it imports */
  imported: string;
  /** the importing file, relative to the repository root */
  file: string;
  why: string;
}

interface Manifest {
  name: string;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

const builtins = new Set(builtinModules);

function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

function owningManifest(file: string, cache: Map<string, { dir: string; manifest: Manifest }>): { dir: string; manifest: Manifest } | undefined {
  let dir = dirname(file);
  const seen: string[] = [];
  while (dir !== dirname(dir)) {
    const hit = cache.get(dir);
    if (hit) return hit;
    seen.push(dir);
    const p = join(dir, 'package.json');
    if (existsSync(p)) {
      const found = { dir, manifest: JSON.parse(readFileSync(p, 'utf8')) as Manifest };
      for (const s of seen) cache.set(s, found);
      return found;
    }
    dir = dirname(dir);
  }
  return undefined;
}

/**
 * Follows every static and dynamic import reachable from an app's entry (workspace packages from
 * their sources, third-party packages left external) and reports imports that `pnpm deploy --prod`
 * of that app would leave unresolvable: a workspace package importing something it does not list
 * in `dependencies`, or an optional peer the app itself does not provide. Catches an app image that
 * builds but fails at start with ERR_MODULE_NOT_FOUND.
 */
export async function checkAppDependencies(opts: {
  root: string;
  /** app folder relative to root, e.g. apps/embedder */
  app: string;
  entry?: string;
  /** export conditions that select workspace sources; default ['@ragline/source'] */
  conditions?: string[];
}): Promise<AppDependencyProblem[]> {
  const appDir = join(opts.root, opts.app);
  const appManifest = JSON.parse(readFileSync(join(appDir, 'package.json'), 'utf8')) as Manifest;
  const cache = new Map<string, { dir: string; manifest: Manifest }>();
  const manifests = new Map<string, Manifest>();
  const edges: { importer: string; imported: string; file: string }[] = [];

  const recorder: Plugin = {
    name: 'record-imports',
    setup(b) {
      b.onResolve({ filter: /^[^./]/ }, (args) => {
        if (args.path.startsWith('node:') || builtins.has(args.path)) return { external: true };
        const owner = args.importer ? owningManifest(args.importer, cache) : undefined;
        if (!owner || owner.dir.includes('node_modules')) return { external: true };
        manifests.set(owner.manifest.name, owner.manifest);
        const imported = packageName(args.path);
        if (imported !== owner.manifest.name) edges.push({ importer: owner.manifest.name, imported, file: relative(opts.root, args.importer) });
        // workspace packages are followed into their sources, everything else stays external
        return imported.startsWith('@ragline/') ? undefined : { external: true };
      });
    },
  };

  await build({
    entryPoints: [join(appDir, opts.entry ?? 'src/main.ts')],
    bundle: true,
    write: false,
    platform: 'node',
    format: 'esm',
    logLevel: 'silent',
    conditions: opts.conditions ?? ['@ragline/source'],
    plugins: [recorder],
  });

  for (const group of ['apps', 'packages']) {
    const dir = join(opts.root, group);
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir)) {
      const p = join(dir, name, 'package.json');
      if (!existsSync(p)) continue;
      const m = JSON.parse(readFileSync(p, 'utf8')) as Manifest;
      if (!manifests.has(m.name)) manifests.set(m.name, m);
    }
  }
  // what `pnpm deploy --prod` installs: the app's dependencies and theirs, transitively
  const installed = new Set<string>([appManifest.name]);
  const queue = [appManifest];
  while (queue.length) {
    const m = queue.pop()!;
    for (const dep of Object.keys(m.dependencies ?? {})) {
      if (installed.has(dep)) continue;
      installed.add(dep);
      const known = manifests.get(dep);
      if (known) queue.push(known);
    }
  }

  const problems: AppDependencyProblem[] = [];
  const reported = new Set<string>();
  for (const e of edges) {
    const m = manifests.get(e.importer)!;
    const key = `${e.importer}>${e.imported}`;
    if (reported.has(key) || m.dependencies?.[e.imported]) continue;
    let why: string | undefined;
    if (m.peerDependencies?.[e.imported]) {
      if (!installed.has(e.imported)) why = `optional peer of ${e.importer} that ${appManifest.name} does not depend on`;
    } else {
      why = `not in the dependencies of ${e.importer}`;
    }
    if (why) {
      reported.add(key);
      problems.push({ ...e, why });
    }
  }
  return problems;
}
