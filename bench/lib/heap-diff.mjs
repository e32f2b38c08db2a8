#!/usr/bin/env node
// `node bench/lib/heap-diff.mjs <before.heapsnapshot> <after.heapsnapshot> [rows]`: what grew between two
// V8 heap snapshots of one process (e.g. the soak's SOAK_HEAP_SNAPSHOTS=1 pair), by constructor
// (objects, closures, native objects) or node type (strings, arrays, code...): count and self size.
// Retained growth shows up here; memory outside the JS heap (native libraries) does not.
import { readFileSync } from 'node:fs';
function summarize(file) {
  const snap = JSON.parse(readFileSync(file, 'utf8'));
  const m = snap.snapshot.meta;
  const nf = m.node_fields;
  const types = m.node_types[0];
  const iType = nf.indexOf('type'), iName = nf.indexOf('name'), iSize = nf.indexOf('self_size');
  const nodes = snap.nodes, strings = snap.strings;
  const agg = new Map();
  let total = 0;
  for (let i = 0; i < nodes.length; i += nf.length) {
    const type = types[nodes[i + iType]];
    let name = type === 'object' || type === 'closure' || type === 'native' ? strings[nodes[i + iName]] : type;
    if (type === 'closure') name = `closure ${name}`;
    const key = name.slice(0, 80);
    const a = agg.get(key) ?? { n: 0, size: 0 };
    a.n++; a.size += nodes[i + iSize]; total += nodes[i + iSize];
    agg.set(key, a);
  }
  return { agg, total };
}
const [before, after, rowsArg] = process.argv.slice(2);
if (!after) {
  console.error('usage: heap-diff.mjs <before.heapsnapshot> <after.heapsnapshot> [rows]');
  process.exit(2);
}
const [a, b] = [before, after].map(summarize);
console.log(`total self size: ${(a.total / 1048576).toFixed(1)} MB -> ${(b.total / 1048576).toFixed(1)} MB`);
const rows = [...new Set([...a.agg.keys(), ...b.agg.keys()])].map((k) => {
  const x = a.agg.get(k) ?? { n: 0, size: 0 }, y = b.agg.get(k) ?? { n: 0, size: 0 };
  return { k, dn: y.n - x.n, ds: y.size - x.size, n: y.n, size: y.size };
}).sort((p, q) => q.ds - p.ds);
for (const r of rows.slice(0, Number(rowsArg ?? 15))) console.log(`${(r.ds / 1024).toFixed(0).padStart(8)} KB ${String(r.dn).padStart(8)} objs  now ${r.n} / ${(r.size / 1024).toFixed(0)} KB  ${r.k}`);
