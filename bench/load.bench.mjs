// Load: 2,000 small documents of mixed formats plus 20 text PDFs of 40-80 pages through the five
// Ragline apps (real NATS, Redis, MariaDB; private prefixes and database) with the local hashing
// embedder. Everything is enqueued at once, the way RAGFlow queues a bulk upload (MySQL task rows,
// then XADD per task), so task latency includes the wait in the queue.
// Measures chunks/s over the run (first enqueue to last task done), task latency p50/p95/p99
// (enqueue to progress 1) and peak RSS per app, sampled from /proc every second. Then proves nothing
// was lost: every task done with exactly the chunk ids the parsing package gives for its range, every
// document finished with that chunk count, and the doc store holding all of them.
// Knobs (env): LOAD_DOCS (2000), LOAD_PDFS (20), LOAD_CHUNK_TOKENS (128).
import { join } from 'node:path';
import { createBenchEnvironment, mean, percentile, pkg, round, startRssSampler, taskTracker, treeCpuMs, APPS } from './lib/environment.mjs';
import { expectedChunkIds, largePdf, smallDocument } from './lib/documents.mjs';

const docstorePkg = await pkg('docstore');

const DOCS = Number(process.env.LOAD_DOCS ?? 2000);
const PDFS = Number(process.env.LOAD_PDFS ?? 20);
const PARSER_CONFIG = { chunk_token_num: Number(process.env.LOAD_CHUNK_TOKENS ?? 128), delimiter: '\n', layout_recognize: 'DeepDOC' };
const EMBD_ID = 'ragline-hash-1024@Ragline';

const log = (msg) => console.log(`[load ${new Date().toISOString().slice(11, 19)}] ${msg}`);

export async function run() {
  // EMBEDDING_URL empty: the embedder's local hashing backend, whatever the caller's environment says
  const env = await createBenchEnvironment({ EMBEDDING_URL: '' });
  let sampler;
  try {
    env.startAll();
    sampler = startRssSampler(() => env.pidsByApp(), 1000);

    // documents and their task rows while the apps start; expected chunk ids computed here
    const tenantId = await env.taskdb.ensureTenant({ name: 'bench', embdId: EMBD_ID });
    const kb = await env.taskdb.ensureKnowledgebase({ name: 'load', tenantId, embdId: EMBD_ID, parserConfig: PARSER_CONFIG });
    const inputs = [];
    for (let i = 0; i < DOCS; i++) inputs.push(smallDocument(i));
    for (let i = 0; i < PDFS; i++) inputs.push(await largePdf(i));
    const queued = [];
    const expected = new Map(); // task id -> chunk ids
    const expectedByDoc = new Map();
    for (const input of inputs) {
      const { doc, tasks } = await env.addDocument(kb, input);
      let n = 0;
      for (const t of tasks) {
        const ids = await expectedChunkIds(input, doc, t);
        expected.set(t.id, ids);
        n += ids.length;
      }
      expectedByDoc.set(doc.id, n);
      queued.push(...tasks);
    }
    const expectedTotal = new Set([...expected.values()].flat()).size;
    const pages = inputs.reduce((n, d) => n + (d.pages ?? 0), 0);
    log(`${inputs.length} documents (${PDFS} PDFs, ${pages} pages), ${queued.length} tasks, ${expectedTotal} chunks expected`);

    await env.waitReady();
    const pids = env.pidsByApp();
    const cpu0 = Object.fromEntries(Object.entries(pids).map(([app, p]) => [app, treeCpuMs(p)]));

    const tracker = taskTracker(env);
    const t0 = performance.now();
    for (const t of queued) {
      tracker.add(t.id);
      await env.enqueue([t]);
    }
    const enqueueMs = performance.now() - t0;
    log(`enqueued in ${(enqueueMs / 1000).toFixed(1)} s`);
    let lastLog = 0;
    await tracker.drain({
      pollMs: 500,
      stallMs: 300_000,
      onProgress: (done, total) => {
        if (performance.now() - lastLog > 15_000 || done === total) {
          lastLog = performance.now();
          log(`${done}/${total} tasks done`);
        }
      },
    });
    const wallMs = performance.now() - t0;
    const cpuS = Object.fromEntries(Object.entries(pids).map(([app, p]) => [app, round((treeCpuMs(p) - cpu0[app]) / 1000)]));
    sampler.stop();

    // nothing lost: per task, per document, and in the doc store
    const chunks = await tracker.verifyChunkIds(expected);
    // the monitor syncs a document right after its last task's completion; give the last ones a moment
    const isDone = (d) => d.run === '3' && d.chunk_num === expectedByDoc.get(d.id);
    let docs = [];
    for (let tries = 0; tries < 60; tries++) {
      docs = await env.taskdb.documentProgress([...expectedByDoc.keys()]);
      if (docs.length === expectedByDoc.size && docs.every(isDone)) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    await env.stopAll();
    const unfinished = docs.filter((d) => !isDone(d));
    if (docs.length !== expectedByDoc.size || unfinished.length) {
      throw new Error(`${unfinished.length} documents not finished with their chunk count, e.g. ${JSON.stringify(unfinished[0])}`);
    }
    const store = docstorePkg.createLanceDocStore({ dir: join(env.dataDir, 'docstore') });
    const stored = await store.count(tenantId, {});
    await store.close();
    if (stored !== expectedTotal) throw new Error(`doc store holds ${stored} chunks, ${expectedTotal} expected`);
    log(`verified: ${tracker.total} tasks done, ${docs.length} documents finished, ${stored} chunks in the doc store`);

    const sorted = [...tracker.latency.values()].sort((a, b) => a - b);
    const mb = (o) => Object.fromEntries(APPS.map((a) => [a, Math.round(o[a] ?? 0)]));
    return {
      docs: inputs.length,
      chunks_per_s: round(chunks / (wallMs / 1000)),
      p50_ms: Math.round(percentile(sorted, 50)),
      p95_ms: Math.round(percentile(sorted, 95)),
      p99_ms: Math.round(percentile(sorted, 99)),
      rss_mb: mb(sampler.peakTree),
      rss_main_mb: mb(sampler.peak),
      small_docs: DOCS,
      pdfs: PDFS,
      pdf_pages: pages,
      tasks: tracker.total,
      chunks,
      chunks_in_docstore: stored,
      tasks_done_before_their_batch_events: tracker.completedBeforeBatches,
      ...(tracker.completedBeforeBatches ? { tasks_done_before_their_batch_events_examples: tracker.completedBeforeBatchesExamples } : {}),
      wall_s: round(wallMs / 1000),
      enqueue_s: round(enqueueMs / 1000),
      mean_ms: Math.round(mean(sorted)),
      cpu_s: cpuS,
      setup: {
        parser_config: PARSER_CONFIG,
        embedding: 'hashing (EMBEDDING_URL unset), 1024 dims',
        replicas: 'one of each app',
        notes: [
          'all tasks enqueued at once (RAGFlow bulk upload): latency is enqueue to progress 1 and includes queue wait; polled every 500 ms',
          'rss_mb: peak per app of the app process plus its children (the parser\'s parse workers), sampled every 1 s from /proc/<pid>/status VmRSS; rss_main_mb: the app process alone',
          'cpu_s: user + system CPU seconds per app (with children) from first enqueue to last task done',
          'verified: every task done with exactly the chunk ids parsing gives for its range, every document finished with its chunk count, doc store count equals the expected chunks',
        ],
      },
    };
  } finally {
    sampler?.stop();
    await env.cleanup();
  }
}
