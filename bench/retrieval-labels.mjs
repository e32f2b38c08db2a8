#!/usr/bin/env node
// Checks the retrieval benchmark's labels without embedding anything: `node bench/retrieval-labels.mjs
// [set...]` chunks the sets' documents as the benchmark does and lists every pair whose expected passage
// is not in exactly one chunk of its document. `--show <id>` prints the chunk a pair's passage is in.
// Exit 1 when a label is wrong.
import { CHUNK_TOKEN_NUM, chunkAll, contains, labelProblems, loadDataSet } from './lib/retrieval.mjs';

const args = process.argv.slice(2);
const show = args.includes('--show') ? args[args.indexOf('--show') + 1] : undefined;
const names = args.filter((a, i) => !a.startsWith('--') && args[i - 1] !== '--show');
const { documents, pairs } = loadDataSet(names.length ? names : undefined);
const chunks = await chunkAll(documents, CHUNK_TOKEN_NUM, 'kb_labels');
if (show) {
  const p = pairs.find((x) => x.id === show);
  if (!p) throw new Error(`no pair ${show}`);
  for (const c of chunks.filter((c) => c.doc_id === p.doc && contains(c.content_with_weight, p.expected))) console.log(`--- ${c.id}\n${c.content_with_weight}`);
  process.exit(0);
}
const problems = labelProblems(pairs, chunks);
const bySet = {};
for (const p of pairs) (bySet[p.set] ??= { pairs: 0, lang: p.lang }).pairs++;
for (const d of documents) (bySet[d.set] ??= { pairs: 0, lang: d.lang }).chunks = (bySet[d.set].chunks ?? 0) + chunks.filter((c) => c.doc_id === d.doc).length;
console.table(bySet);
const byLang = {};
for (const p of pairs) byLang[p.lang] = (byLang[p.lang] ?? 0) + 1;
console.log('pairs per language:', byLang);
if (problems.length) {
  console.log(`${problems.length} label problem(s):\n${problems.join('\n')}`);
  process.exit(1);
}
console.log('all labels point at exactly one chunk');
