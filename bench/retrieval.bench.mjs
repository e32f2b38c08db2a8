// Retrieval quality: labelled question -> passage pairs (bench/data/retrieval) over real documents on
// this machine, chunked as the pipeline chunks them (parseDocument, chunkDocument = naive merge at the
// project's default chunk_token_num, buildChunks), embedded with every in-process embedding backend
// (BACKEND_KINDS ∩ IN_PROCESS_KINDS: hashing, and the local model once present), written to an
// embedded LanceDB doc store, then searched per question in fulltext, vector and hybrid mode (topK 10).
// A hit is a chunk whose content contains the expected passage. Reports recall@5 and MRR@10 per
// language x mode x backend. RETRIEVAL_BACKENDS=hashing,local picks backends.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLanceDocStore } from '@ragline/docstore';
import { CHUNK_TOKEN_NUM, chunkAll, labelProblems, loadDataSet, metrics, pkg, rankOf } from './lib/retrieval.mjs';

const MODES = ['fulltext', 'vector', 'hybrid'];
const TOP_K = 10;
const KB = 'kb_retrieval';
const TENANT = 'bench_retrieval';

export async function run() {
  const embedding = await pkg('embedding');
  // the tokenizer as a service configures it, from the same settings (RAG_WORDNET_SYNONYMS=off compares
  // queries without WordNet synonyms; RAG_TOKENIZER_DICT / RAGFLOW_RES_DIR point at RAGFlow's resources)
  const config = await pkg('config');
  const tokenizerSettings = config.loadConfig(config.z.object((await pkg('rag-tokenizer')).RagTokenizerResourceSettings));
  (await pkg('pipeline')).configureTokenizer(tokenizerSettings);
  const wordnetSynonyms = tokenizerSettings.RAG_WORDNET_SYNONYMS;
  const { documents, pairs } = loadDataSet();
  const chunks = await chunkAll(documents, CHUNK_TOKEN_NUM, KB);
  // every expected passage must be in exactly one chunk of its document (else the label is wrong)
  const problems = labelProblems(pairs, chunks);
  if (problems.length) console.error(`label problems (${problems.length}):\n${problems.join('\n')}`);
  const bad = new Set(problems.map((s) => s.split(':')[0]));
  const usable = pairs.filter((p) => !bad.has(p.id));

  const wanted = process.env.RETRIEVAL_BACKENDS?.split(',');
  const kinds = embedding.BACKEND_KINDS.filter((k) => embedding.IN_PROCESS_KINDS.includes(k) && (!wanted || wanted.includes(k)));
  const langs = [...new Set(usable.map((p) => p.lang))];
  const results = {};
  const table = [];
  for (const kind of kinds) {
    const backend = embedding.createEmbeddingBackend({ kind });
    const dim = await backend.dimension();
    const field = embedding.vectorField(dim);
    const dir = mkdtempSync(join(tmpdir(), 'ragline-bench-retrieval-'));
    const store = createLanceDocStore({ dir });
    try {
      const t0 = performance.now();
      await store.ensureIndex(TENANT, dim);
      for (let i = 0; i < chunks.length; i += 16) {
        const batch = chunks.slice(i, i + 16);
        const { vectors } = await backend.embed(batch.map((c) => c.content_with_weight));
        const docs = batch.map(({ lang, ...c }, j) => ({ ...c, [field]: Array.from(vectors[j]) }));
        const res = await store.upsert(TENANT, docs);
        if (res.errors.length) throw new Error(`upsert: ${res.errors[0].reason}`);
      }
      await store.refresh(TENANT);
      const embedS = (performance.now() - t0) / 1000;
      const { vectors: qv } = { vectors: [] };
      for (let i = 0; i < usable.length; i += 16) qv.push(...(await backend.embed(usable.slice(i, i + 16).map((p) => p.question))).vectors);
      const ranks = {};
      for (const [i, p] of usable.entries()) {
        for (const mode of MODES) {
          const hits = await store.search({ tenantId: TENANT, kbIds: [KB], query: p.question, vector: Array.from(qv[i]), mode, topK: TOP_K });
          ((ranks[p.lang] ??= {})[mode] ??= []).push(rankOf(hits, p.expected));
        }
      }
      results[kind] = { model: backend.model, dim, embed_and_index_s: +embedS.toFixed(1) };
      for (const lang of langs) {
        results[kind][lang] = {};
        for (const mode of MODES) {
          const m = metrics(ranks[lang][mode]);
          results[kind][lang][mode] = m;
          table.push({ backend: kind, lang, mode, pairs: m.pairs, 'recall@5': m['recall@5'], 'mrr@10': m['mrr@10'] });
        }
      }
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }
  console.table(table);
  const count = (lang) => ({ documents: documents.filter((d) => d.lang === lang).length, chunks: chunks.filter((c) => c.lang === lang).length, pairs: usable.filter((p) => p.lang === lang).length });
  return {
    chunk_token_num: CHUNK_TOKEN_NUM,
    wordnet_synonyms: wordnetSynonyms,
    top_k: TOP_K,
    backends: kinds,
    data: Object.fromEntries(langs.map((l) => [l, count(l)])),
    label_problems: problems,
    results,
    table,
  };
}
