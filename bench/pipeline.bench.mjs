// Pipeline benchmark: RAGFlow's single-process task executor (baseline) against Ragline's five
// services over JetStream, on the same documents and the same latency-bound embedding server, plus
// the bus's own ceiling (chunk batches through two JetStream hops with no-op stages).
//
// Needs NATS (JetStream), Redis and MariaDB/MySQL on their default local ports and a build.
// The private environment, app processes and CPU sampling come from lib/environment.mjs.
// Knobs (env): BENCH_DOCS (default 24), BENCH_REPLICAS (default "1,2,4"), BENCH_EMBED_LATENCY_MS (500),
// BENCH_EMBED_PER_ITEM_MS (5), BENCH_EMBED_CONCURRENCY (64), BENCH_DIM (256).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NATS_URL, Semaphore, createBenchEnvironment, percentile, pkg, taskTracker, treeCpuMs } from './lib/environment.mjs';
import { barChart } from './lib/svg.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const [busPkg, contracts, parsing, embedding, docstorePkg, telemetry] = await Promise.all(
  ['bus', 'contracts', 'parsing', 'embedding', 'docstore', 'telemetry'].map(pkg),
);

const DOCS = Number(process.env.BENCH_DOCS ?? 24);
const REPLICAS = (process.env.BENCH_REPLICAS ?? '1,2,4').split(',').map(Number);
const SERVER = {
  latencyMs: Number(process.env.BENCH_EMBED_LATENCY_MS ?? 500),
  perItemMs: Number(process.env.BENCH_EMBED_PER_ITEM_MS ?? 5),
  concurrency: Number(process.env.BENCH_EMBED_CONCURRENCY ?? 64),
  dim: Number(process.env.BENCH_DIM ?? 256),
};
const MODEL = 'bench-embed';
const PARSER_CONFIG = { chunk_token_num: 96, delimiter: '\n', layout_recognize: 'DeepDOC' };

// ---------------------------------------------------------------------------------------------
// inputs: the same Markdown documents for every run

function documents() {
  const words = 'queue parser chunk embedding index monitor stream consumer replica latency throughput batch vector token section'.split(' ');
  return Array.from({ length: DOCS }, (_, d) => {
    let text = '';
    for (let s = 0; s < 12; s++) {
      text += `# Document ${d} section ${s}\n\n`;
      for (let p = 0; p < 8; p++) {
        const line = Array.from({ length: 24 }, (_, w) => words[(d * 7 + s * 5 + p * 3 + w) % words.length]).join(' ');
        text += `Paragraph ${p} of section ${s} in document ${d}: ${line}.\n`;
      }
      text += '\n';
    }
    return { name: `doc-${String(d).padStart(3, '0')}.md`, data: Buffer.from(text) };
  });
}

// ---------------------------------------------------------------------------------------------
// measurement helpers

function row(name, replicas, chunks, wallMs, latencies, cpuMs) {
  const sorted = [...latencies].sort((a, b) => a - b);
  return {
    name,
    replicas,
    chunks,
    tasks: latencies.length,
    wall_ms: Math.round(wallMs),
    chunks_per_s: Math.round((chunks / (wallMs / 1000)) * 10) / 10,
    p50_ms: Math.round(percentile(sorted, 50)),
    p95_ms: Math.round(percentile(sorted, 95)),
    cpu_ms_per_chunk: Math.round((cpuMs / chunks) * 100) / 100,
  };
}

/** The embedding server fixture in its own process, so its CPU is nobody's cost. */
async function startFixture() {
  const child = spawn(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `import { startEmbeddingServer } from ${JSON.stringify(join(here, 'fixtures', 'embedding-server.mjs'))};
       const s = await startEmbeddingServer(${JSON.stringify(SERVER)});
       console.log(s.url);
       process.on('SIGTERM', async () => { console.error(JSON.stringify(s.stats)); await s.close(); process.exit(0); });`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const url = await new Promise((resolve, reject) => {
    child.stdout.once('data', (b) => resolve(String(b).trim()));
    child.once('exit', (c) => reject(new Error(`embedding fixture exited with ${c}`)));
  });
  return { url, stop: () => new Promise((r) => (child.once('exit', r), child.kill('SIGTERM'))) };
}

// ---------------------------------------------------------------------------------------------
// (a) baseline: RAGFlow's task executor in one process with its defaults

async function baseline(docs, fixtureUrl) {
  await parsing.initHashing();
  const dataDir = mkdtempSync(join(tmpdir(), 'ragline-bench-base-'));
  const store = docstorePkg.createLanceDocStore({ dir: join(dataDir, 'docstore') });
  const backend = embedding.createOpenAICompatibleBackend({ url: fixtureUrl, model: MODEL, maxRetries: 2 });
  const tenant = `bench${randomBytes(3).toString('hex')}`;
  await store.ensureIndex(tenant, SERVER.dim);
  // MAX_CONCURRENT_TASKS=5, MAX_CONCURRENT_CHUNK_BUILDERS=1, one embedding batch (EMBEDDING_BATCH_SIZE=16) at a time, DOC_BULK_SIZE=4
  const tasks = new Semaphore(5);
  const parser = new Semaphore(1);
  const embedder = new Semaphore(1);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const latencies = [];
  let chunkCount = 0;
  await Promise.all(
    docs.map((doc, i) =>
      tasks.run(async () => {
        const docId = `basedoc${i}`;
        const chunks = await parser.run(async () => {
          const parsed = await parsing.parseDocument({ name: doc.name, data: doc.data, parserId: 'naive', parserConfig: PARSER_CONFIG });
          const merged = parsing.naiveMerge(parsed.sections, parsing.mergeOptionsFromParserConfig(PARSER_CONFIG));
          return parsing.buildChunks({ doc_id: docId, kb_id: 'basekb', doc_name: doc.name, parser_config: PARSER_CONFIG }, merged);
        });
        let titleVector;
        const vectors = [];
        for (let s = 0; s < chunks.length; s += 16) {
          const part = chunks.slice(s, s + 16);
          const r = await embedder.run(() => embedding.embedChunksLikeRagflow(backend, part, { title: doc.name, titleVector, batchSize: 16, concurrency: 1 }));
          titleVector = r.titleVector;
          vectors.push(...r.vectors);
        }
        const field = `q_${SERVER.dim}_vec`;
        const stored = chunks.map((c, k) => ({ ...c, [field]: Array.from(vectors[k]) }));
        for (let s = 0; s < stored.length; s += 4) {
          const res = await store.upsert(tenant, stored.slice(s, s + 4));
          if (res.errors.length) throw new Error(`baseline upsert failed: ${JSON.stringify(res.errors[0])}`);
        }
        await store.refresh(tenant);
        chunkCount += chunks.length;
        latencies.push(performance.now() - t0);
      }),
    ),
  );
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const stored = await store.count(tenant, {});
  if (stored !== chunkCount) throw new Error(`baseline stored ${stored} of ${chunkCount} chunks`);
  await store.close();
  rmSync(dataDir, { recursive: true, force: true });
  return row('baseline', 1, chunkCount, wall, latencies, (cpu.user + cpu.system) / 1000);
}

// ---------------------------------------------------------------------------------------------
// (b) Ragline: five apps as processes in a private environment (as test/support/pipeline.ts)

async function ragline(docs, fixtureUrl, replicas) {
  const env = await createBenchEnvironment({ EMBEDDING_URL: fixtureUrl, EMBEDDING_MODEL: MODEL, EMBEDDING_KIND: 'openai' });
  try {
    env.startAll({ embedder: replicas });
    await env.waitReady();
    const { taskdb } = env;
    const tenantId = await taskdb.ensureTenant({ name: 'bench', embdId: `${MODEL}@Bench` });
    const kb = await taskdb.ensureKnowledgebase({ name: 'bench', tenantId, embdId: `${MODEL}@Bench`, parserConfig: PARSER_CONFIG });
    const queued = [];
    for (const doc of docs) queued.push(...(await env.addDocument(kb, { ...doc, type: 'doc' })).tasks);
    const pids = Object.values(env.pidsByApp()).flat();
    const cpu0 = treeCpuMs(pids);
    const t0 = performance.now();
    const tracker = taskTracker(env);
    for (const t of queued) tracker.add(t.id, t0);
    await env.enqueue(queued);
    await tracker.drain({ pollMs: 50, stallMs: 300_000 });
    const wall = performance.now() - t0;
    const cpu = treeCpuMs(pids) - cpu0;
    const chunks = [...tracker.chunkIds.values()].reduce((n, ids) => n + ids.length, 0);
    return row('ragline', replicas, chunks, wall, [...tracker.latency.values()], cpu);
  } finally {
    await env.cleanup();
  }
}

// ---------------------------------------------------------------------------------------------
// (c) the bus ceiling: chunk batches parser -> [chunks stream] -> no-op embed stage -> [index stream]
// -> no-op index stage, with the apps' consumer code (acks, schema checks, spans) and no work.

async function busCeiling(docs) {
  await parsing.initHashing();
  const id = randomBytes(4).toString('hex');
  const names = contracts.topologyNames(`benchbus${id}`, `BENCHBUS${id.toUpperCase()}`);
  const nc = await busPkg.connectNats({ url: NATS_URL });
  await busPkg.ensureTopology(nc, names, { maxAckPending: { embedder: 256, indexer: 256 } });
  const tel = telemetry.startTelemetry({ serviceName: 'bench', env: {} });
  const logger = telemetry.createLogger({ service: 'bench', level: 'warn' });
  const publisher = new busPkg.Publisher(nc);
  // real chunk batches: the documents' chunks, 32 per batch as the parser sends them
  const batches = [];
  for (const [d, doc] of docs.entries()) {
    const parsed = await parsing.parseDocument({ name: doc.name, data: doc.data, parserId: 'naive', parserConfig: PARSER_CONFIG });
    const chunks = parsing.buildChunks(
      { doc_id: `busdoc${d}`, kb_id: 'buskb', doc_name: doc.name, parser_config: PARSER_CONFIG },
      parsing.naiveMerge(parsed.sections, parsing.mergeOptionsFromParserConfig(PARSER_CONFIG)),
    );
    const task = { task_id: `bustask${d}`, doc_id: `busdoc${d}`, kb_id: 'buskb', tenant_id: 't', embd_id: MODEL, doc_name: doc.name, from_page: 0, to_page: 100000000, received_at: Date.now() };
    for (let s = 0, n = 0; s < chunks.length; s += 32, n++) batches.push({ v: 1, kind: 'chunks', task, batch_no: n, chunks: chunks.slice(s, s + 32) });
  }
  const rounds = 4; // repeat the set so the run lasts long enough to measure
  const total = batches.length * rounds;
  const totalChunks = batches.reduce((n, b) => n + b.chunks.length, 0) * rounds;
  const sentAt = new Map();
  const latencies = [];
  let indexed = 0;
  let done;
  const finished = new Promise((r) => (done = r));
  const common = { nc, maxDeliver: 5, logger, tracer: tel.tracer, concurrency: 16 };
  const embed = busPkg.runConsumer({
    ...common,
    stream: names.streams.chunks,
    consumer: names.consumers.embedder,
    stage: 'embedder',
    schema: contracts.ChunkBatch,
    dlqSubject: names.subjects.dlq('embedder'),
    handler: async (msg, ctx) => {
      await publisher.publishRaw(names.subjects.embedded, Buffer.from(JSON.stringify(msg)), { msgID: `e.${ctx.streamSeq}.${msg.task.task_id}.${msg.batch_no}` });
    },
  });
  const index = busPkg.runConsumer({
    ...common,
    stream: names.streams.index,
    consumer: names.consumers.indexer,
    stage: 'indexer',
    schema: contracts.ChunkBatch,
    dlqSubject: names.subjects.dlq('indexer'),
    handler: async (msg) => {
      const key = `${msg.task.task_id}.${msg.batch_no}.${msg.v}`;
      indexed++;
      if (sentAt.has(key)) latencies.push(performance.now() - sentAt.get(key).shift());
      if (indexed === total) done();
    },
  });
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const inflight = new Semaphore(64);
  await Promise.all(
    Array.from({ length: rounds }, (_, r) => batches.map((b, i) => ({ b, i, r })))
      .flat()
      .map(({ b, i, r }) =>
        inflight.run(async () => {
          const key = `${b.task.task_id}.${b.batch_no}.${b.v}`;
          if (!sentAt.has(key)) sentAt.set(key, []);
          sentAt.get(key).push(performance.now());
          await publisher.publish(names.subjects.chunks, contracts.ChunkBatch, b, { msgID: `c.${r}.${i}` });
        }),
      ),
  );
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`bus ceiling: ${indexed}/${total} batches after 120 s`)), 120_000);
  });
  await Promise.race([finished, timeout]).finally(() => clearTimeout(timer));
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  await embed.stop();
  await index.stop();
  await busPkg.deleteTopology(nc, names);
  await nc.close();
  await tel.shutdown();
  // latency here is per batch (there are no tasks): publish -> indexed
  return row('bus-ceiling', 1, totalChunks, wall, latencies, (cpu.user + cpu.system) / 1000);
}

// ---------------------------------------------------------------------------------------------

function chart(rows) {
  const bars = rows.map((r) => ({
    label: r.name === 'ragline' ? `ragline ×${r.replicas} embedder` : r.name,
    value: r.chunks_per_s,
    color: r.name === 'baseline' ? '#9ca3af' : r.name === 'bus-ceiling' ? '#60a5fa' : '#f59e0b',
  }));
  return barChart(bars, { title: 'chunks/s (higher is better), same docs and embedding server' });
}

export async function run() {
  const docs = documents();
  const fixture = await startFixture();
  const rows = [];
  try {
    rows.push(await baseline(docs, fixture.url));
    console.log(rows.at(-1));
    for (const n of REPLICAS) {
      rows.push(await ragline(docs, fixture.url, n));
      console.log(rows.at(-1));
    }
  } finally {
    await fixture.stop();
  }
  rows.push(await busCeiling(docs));
  console.log(rows.at(-1));
  writeFileSync(join(here, 'results', 'pipeline.svg'), chart(rows));
  const base = rows.find((r) => r.name === 'baseline');
  const speedup = Object.fromEntries(rows.filter((r) => r.name === 'ragline').map((r) => [`x${r.replicas}`, Math.round((r.chunks_per_s / base.chunks_per_s) * 100) / 100]));
  return {
    setup: { docs: DOCS, parser_config: PARSER_CONFIG, embedding_server: SERVER, cpu_note: 'cpu_ms_per_chunk counts the Ragline apps (or the baseline process), not NATS, Redis, MySQL or the embedding fixture' },
    rows,
    speedup_vs_baseline: speedup,
  };
}
