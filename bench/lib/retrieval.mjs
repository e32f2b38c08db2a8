// Shared code of the retrieval-quality benchmark: the labelled data set (bench/data/retrieval), the
// source documents read from this machine (license texts, zh_CN gettext catalogues), chunking the
// pipeline's way, and the metrics (recall@k, MRR@k).
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const DATA = join(ROOT, 'bench', 'data', 'retrieval');
// RAGFlow's knowledge-base default parser_config chunk_token_num (the parsing package's merge default is 512)
export const CHUNK_TOKEN_NUM = Number(process.env.RETRIEVAL_CHUNK_TOKENS ?? 128);
export const pkg = (name) => import(pathToFileURL(join(ROOT, 'packages', name, 'dist', 'index.js')).href);

/**
 * Every set in data/retrieval/sets/*.json (RETRIEVAL_SETS=a,b picks some): {documents: [{doc, lang,
 * kind: 'text' | 'gz' | 'mo' | 'man', path}], pairs: [{id, doc, question, expected}]}. A pair takes its
 * language from its document; document names and pair ids are unique over all sets.
 */
export function loadDataSet(names = process.env.RETRIEVAL_SETS?.split(',')) {
  const dir = join(DATA, 'sets');
  const files = readdirSync(dir).filter((f) => f.endsWith('.json') && (!names || names.includes(f.replace(/\.json$/, ''))));
  const documents = [];
  const pairs = [];
  for (const f of files.sort()) {
    const set = JSON.parse(readFileSync(join(dir, f), 'utf8'));
    documents.push(...set.documents.map((d) => ({ ...d, set: f })));
    const langOf = new Map(set.documents.map((d) => [d.doc, d.lang]));
    for (const p of set.pairs) {
      if (!langOf.has(p.doc)) throw new Error(`${f}: pair ${p.id} names document ${p.doc}, not one of this set's`);
      pairs.push({ ...p, lang: langOf.get(p.doc), set: f });
    }
  }
  const dup = (xs) => xs.find((x, i) => xs.indexOf(x) !== i);
  const d = dup(documents.map((x) => x.doc)) ?? dup(pairs.map((x) => x.id));
  if (d) throw new Error(`retrieval sets: "${d}" appears twice`);
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

/** A manual page as `man` renders it for reading: no hyphenation or justification, lines unwrapped. */
export function manText(path) {
  const out = execFileSync('man', ['--no-hyphenation', '--no-justification', '-E', 'UTF-8', '-l', path], {
    encoding: 'utf8',
    maxBuffer: 64 << 20,
    env: { ...process.env, MANWIDTH: '1000', MANPAGER: 'cat', PAGER: 'cat', LANG: 'C.UTF-8' },
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  // strip overstrike (bold/underline) and tab runs from the title lines
  return out.replace(/.\x08/g, '').replace(/\t+| {8,}/g, ' ');
}

export function documentText(d) {
  switch (d.kind) {
    case 'mo':
      return moText(d.path);
    case 'man':
      return manText(d.path);
    case 'gz':
      // some packaged manuals are grotty output: drop its ANSI styling
      return gunzipSync(readFileSync(d.path)).toString('utf8').replace(/\x1b\[[0-9;]*m/g, '');
    case 'text':
      return readFileSync(d.path, 'utf8');
    default:
      throw new Error(`${d.doc}: unknown document kind ${d.kind}`);
  }
}

/** Every document chunked as the pipeline chunks it: parseDocument, naive merge at `chunkTokenNum`, buildChunks. */
export async function chunkAll(documents, chunkTokenNum, kbId) {
  const { buildChunks, chunkDocument, initHashing, parseDocument } = await import('@ragline/parsing');
  await initHashing();
  const chunks = [];
  for (const d of documents) {
    const name = `${d.doc}.txt`;
    const parsed = await parseDocument({ name, data: new TextEncoder().encode(documentText(d)), parserId: 'naive' });
    const merged = chunkDocument(parsed, { chunk_token_num: chunkTokenNum });
    for (const c of buildChunks({ doc_id: d.doc, kb_id: kbId, doc_name: name }, merged, new Date(0))) chunks.push({ ...c, lang: d.lang });
  }
  return chunks;
}

/** Pairs whose expected passage is not in exactly one chunk of its document (a wrong label), as messages. */
export function labelProblems(pairs, chunks) {
  const problems = [];
  for (const p of pairs) {
    const n = chunks.filter((c) => c.doc_id === p.doc && contains(c.content_with_weight, p.expected)).length;
    if (n !== 1) problems.push(`${p.id}: expected passage in ${n} chunks of ${p.doc}`);
  }
  return problems;
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
