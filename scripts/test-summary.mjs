#!/usr/bin/env node
// Totals the Vitest JSON reports of every package into the one line CI reads: "N passed, N failed[, N skipped]".
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const dirs = ['apps', 'packages'].flatMap((d) => readdirSync(join(root, d)).map((n) => join(root, d, n))).concat([join(root, 'test')]);
let passed = 0, failed = 0, skipped = 0, missing = [];
for (const dir of dirs) {
  const file = join(dir, 'test-results.json');
  if (!existsSync(join(dir, 'package.json'))) continue;
  if (!existsSync(file)) { missing.push(dir.slice(root.length)); continue; }
  const r = JSON.parse(readFileSync(file, 'utf8'));
  passed += r.numPassedTests ?? 0;
  failed += r.numFailedTests ?? 0;
  skipped += (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
  // a suite that failed to load has no tests but must count as a failure
  if ((r.numFailedTestSuites ?? 0) > 0 && (r.numFailedTests ?? 0) === 0) failed += r.numFailedTestSuites;
}
if (missing.length && process.env.RAGLINE_REQUIRE_ALL_RESULTS === '1') {
  for (const m of missing) console.error(`no test results from ${m}`);
  failed += missing.length;
}
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed ? 1 : 0);
