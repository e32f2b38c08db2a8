#!/usr/bin/env node
// `pnpm bench [name...]`: runs bench/<name>.bench.mjs (all when none named) and writes each result
// to bench/results/<name>.json. Benchmarks compare side by side within one run; no timed unit tests.
import { readdirSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const all = readdirSync(here).filter((f) => f.endsWith('.bench.mjs')).map((f) => f.replace('.bench.mjs', ''));
const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const unknown = wanted.filter((w) => !all.includes(w));
if (unknown.length) {
  console.error(`unknown benchmark(s): ${unknown.join(', ')}; available: ${all.join(', ')}`);
  process.exit(2);
}
mkdirSync(join(here, 'results'), { recursive: true });
for (const name of wanted.length ? wanted : all) {
  const mod = await import(join(here, `${name}.bench.mjs`));
  console.log(`# ${name}`);
  const result = await mod.run();
  const out = { name, at: new Date().toISOString(), node: process.version, ...result };
  writeFileSync(join(here, 'results', `${name}.json`), JSON.stringify(out, null, 2) + '\n');
  console.log(JSON.stringify(result, null, 2));
}
