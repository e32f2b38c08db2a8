// Shared code of the retrieval-quality benchmark: the labelled data set (bench/data/retrieval), the
// source documents read from this machine (license texts, zh_CN gettext catalogues), chunking the
// pipeline's way, and the metrics (recall@k, MRR@k).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const DATA = join(ROOT, 'bench', 'data', 'retrieval');
export const pkg = (name) => import(pathToFileURL(join(ROOT, 'packages', name, 'dist', 'index.js')).href);

/** documents.json: [{doc, lang, path, kind: 'text' | 'mo'}]; pairs in <lang>.json: [{id, lang, question, doc, expected}] */
export function loadDataSet() {
  const documents = JSON.parse(readFileSync(join(DATA, 'documents.json'), 'utf8'));
  const pairs = [];
  for (const lang of [...new Set(documents.map((d) => d.lang))]) pairs.push(...JSON.parse(readFileSync(join(DATA, `${lang}.json`), 'utf8')));
  return { documents, pairs };
}

/** msgstr texts of a .mo catalogue (via msgunfmt), long ones only, blank-line separated: one document. */
export function moText(path, minChars = 30) {
  const po = execFileSync('msgunfmt', ['--no-wrap', path], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const out = [];
  const re = /^msgstr(?:\[0\])? ((?:"(?:[^"\\]|\\.)*"\n?)+)/gm;
  for (const m of po.matchAll(re)) {
    const s = m[1].trim().split('\n').map((l) => l.slice(1, -1)).join('').replace(/\\(.)/g, (_, c) => (c === 'n' ? '\n' : c === 't' ? '\t' : c)).trim();
    if ([...s].length >= minChars) out.push(s);
  }
  return out.join('\n\n');
}

export function documentText(d) {
  return d.kind === 'mo' ? moText(d.path) : readFileSync(d.path, 'utf8');
}

/** Whitespace-insensitive containment (chunking may rejoin lines). */
export const norm = (s) => s.replace(/\s+/g, '');
export const contains = (content, expected) => norm(content).includes(norm(expected));

/** rank (1-based) of the first hit containing `expected`, 0 when none */
export function rankOf(hits, expected) {
  const i = hits.findIndex((h) => contains(h.content_with_weight, expected));
  return i + 1;
}

export function metrics(ranks, k = 5) {
  const n = ranks.length || 1;
  return {
    pairs: ranks.length,
    [`recall@${k}`]: +(ranks.filter((r) => r > 0 && r <= k).length / n).toFixed(3),
    'mrr@10': +(ranks.reduce((s, r) => s + (r > 0 && r <= 10 ? 1 / r : 0), 0) / n).toFixed(3),
  };
}
