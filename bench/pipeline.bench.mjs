// Pipeline benchmark: RAGFlow's single-process task executor (baseline) against Ragline's five
// services over JetStream, on the same documents and the same latency-bound embedding server, plus
// the bus's own ceiling (chunk batches through two JetStream hops with no-op stages).
//
// Needs NATS (JetStream), Redis and MariaDB/MySQL on their default local ports and a build.
// Knobs (env): BENCH_DOCS (default 24), BENCH_REPLICAS (default "1,2,4"), BENCH_EMBED_LATENCY_MS (60),
// BENCH_EMBED_PER_ITEM_MS (1), BENCH_EMBED_CONCURRENCY (16), BENCH_DIM (256).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

const here = dirname(fileURLToPath(import.meta.url));
const ROOT = join(here, '..');
// workspace packages from their builds (bench/ depends only on contracts and parsing)
const pkg = (name) => import(join(ROOT, 'packages', name, 'dist', 'index.js'));
const [taskdbPkg, queuePkg, storagePkg, busPkg, contracts, parsing, embedding, docstorePkg, telemetry] = await Promise.all(
  ['taskdb', 'redis-queue', 'storage', 'bus', 'contracts', 'parsing', 'embedding', 'docstore', 'telemetry'].map(pkg),
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
const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const CLK_TCK = 100; // Linux USER_HZ for /proc/<pid>/stat times

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

function percentile(sorted, p) {
  if (!sorted.length) return 0;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

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

/** CPU ms (user + system, including reaped children) of `pids` and every live descendant. */
function treeCpuMs(pids) {
  const parent = new Map();
  const ticks = new Map();
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      // fields after the command name (which may hold spaces) start at state
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parent.set(Number(e), Number(f[1]));
      ticks.set(Number(e), Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]));
    } catch {
      /* exited while we read */
    }
  }
  const roots = new Set(pids);
  let total = 0;
  for (const [pid, t] of ticks) {
    let p = pid;
    while (p > 1 && !roots.has(p)) p = parent.get(p) ?? 0;
    if (roots.has(p)) total += t;
  }
  return (total * 1000) / CLK_TCK;
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

class Semaphore {
  constructor(n) {
    this.free = n;
    this.waiting = [];
  }
  async run(fn) {
    if (this.free > 0) this.free--;
    else await new Promise((r) => this.waiting.push(r));
    try {
      return await fn();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.free++;
    }
  }
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
  const id = randomBytes(4).toString('hex');
  const dataDir = mkdtempSync(join(tmpdir(), `ragline-bench-${id}-`));
  const database = `ragline_bench_${id}`;
  const queues = [`bench.${id}.1`, `bench.${id}.0`];
  const env = {
    NATS_URL,
    REDIS_URL: 'redis://127.0.0.1:6379/1',
    REDIS_KEY_PREFIX: `bench:${id}:`,
    MYSQL_URL: `mysql://root@127.0.0.1:3306/${database}`,
    RAGLINE_SUBJECT_PREFIX: `bench${id}`,
    RAGLINE_STREAM_PREFIX: `BENCH${id.toUpperCase()}`,
    RAGFLOW_QUEUES: queues.join(','),
    RAGLINE_DATA_DIR: dataDir,
    MONITOR_PORT: '0',
    HEARTBEAT_INTERVAL_MS: '1000',
    BRIDGE_BLOCK_MS: '200',
    SHUTDOWN_GRACE_MS: '5000',
    LOG_LEVEL: 'warn',
    EMBEDDING_URL: fixtureUrl,
    EMBEDDING_MODEL: MODEL,
    EMBEDDING_KIND: 'openai',
  };
  const taskdb = taskdbPkg.createTaskDb({ url: env.MYSQL_URL });
  await taskdb.migrate();
  const redis = queuePkg.createRedis({ url: env.REDIS_URL, keyPrefix: env.REDIS_KEY_PREFIX });
  const objects = storagePkg.createLocalStore({ root: join(dataDir, 'objects') });
  const producer = new queuePkg.RagflowQueueProducer(redis);
  const names = contracts.topologyNames(env.RAGLINE_SUBJECT_PREFIX, env.RAGLINE_STREAM_PREFIX);
  const procs = [];
  const stderrTails = [];
  const start = (app, replica) => {
    const p = spawn(process.execPath, [join(ROOT, 'apps', app, 'dist', 'main.js')], {
      env: { ...process.env, ...env, RAGLINE_REPLICA: `bench_${id}_${app}_${replica}` },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    p.stderr.on('data', (b) => (err = (err + b).slice(-4000)));
    stderrTails.push(() => `[${app}.${replica}] ${err.slice(-600)}`);
    p.on('exit', (code, sig) => {
      if (code && !p.stopping) console.error(`[${app}.${replica}] exited ${code ?? sig}: ${err}`);
    });
    procs.push(p);
  };
  try {
    for (const app of ['ingest-bridge', 'parser', 'indexer', 'monitor']) start(app, 0);
    for (let r = 0; r < replicas; r++) start('embedder', r);

    // ready when every stage's durable consumer exists
    const nc = await busPkg.connectNats({ url: NATS_URL });
    const jsm = await (await import(join(ROOT, 'packages', 'bus', 'node_modules', '@nats-io', 'jetstream', 'lib', 'mod.js'))).jetstreamManager(nc);
    const wanted = [
      [names.streams.tasks, names.consumers.parser],
      [names.streams.chunks, names.consumers.embedder],
      [names.streams.index, names.consumers.indexer],
      [names.streams.events, names.consumers.monitorEvents],
    ];
    // generous: apps load slowly when the machine is busy
    const deadline = Date.now() + 180_000;
    for (const [stream, consumer] of wanted) {
      while (!(await jsm.consumers.info(stream, consumer).then(() => true, () => false))) {
        if (Date.now() > deadline) throw new Error(`consumer ${stream}/${consumer} never appeared\n${stderrTails.map((f) => f()).join('\n')}`);
        await sleep(200);
      }
    }
    await sleep(1500); // replicas still connecting pull their first messages late otherwise

    const tenantId = await taskdb.ensureTenant({ name: 'bench', embdId: `${MODEL}@Bench` });
    const kb = await taskdb.ensureKnowledgebase({ name: 'bench', tenantId, embdId: `${MODEL}@Bench`, parserConfig: PARSER_CONFIG });
    const queued = [];
    for (const doc of docs) {
      await objects.put(kb.id, doc.name, doc.data);
      const docRow = await taskdb.createDocument({
        kbId: kb.id,
        name: doc.name,
        location: doc.name,
        size: doc.data.byteLength,
        type: 'doc',
        suffix: 'md',
        parserId: 'naive',
        parserConfig: kb.parser_config,
      });
      queued.push(...(await taskdb.queueDocument(docRow.id)));
    }
    const pids = procs.map((p) => p.pid);
    const cpu0 = treeCpuMs(pids);
    const t0 = performance.now();
    for (const t of queued) await producer.enqueue(queues[1], { ...t });
    const latencies = new Map();
    let chunks = 0;
    while (latencies.size < queued.length) {
      for (const t of queued) {
        if (latencies.has(t.id)) continue;
        const taskRow = await taskdb.getTask(t.id);
        if (taskRow.progress < 0) throw new Error(`task ${t.id} failed: ${taskRow.progress_msg}`);
        if (taskRow.progress >= 1) {
          latencies.set(t.id, performance.now() - t0);
          chunks += taskRow.chunk_ids.split(' ').filter(Boolean).length;
        }
      }
      if (performance.now() - t0 > 300_000) throw new Error(`only ${latencies.size}/${queued.length} tasks done after 300 s`);
      await sleep(50);
    }
    const wall = performance.now() - t0;
    const cpu = treeCpuMs(pids) - cpu0;
    await nc.close();
    return row('ragline', replicas, chunks, wall, [...latencies.values()], cpu);
  } finally {
    await Promise.all(
      procs.map(
        (p) =>
          new Promise((r) => {
            if (p.exitCode !== null || p.signalCode !== null) return r();
            p.stopping = true;
            const kill = setTimeout(() => p.kill('SIGKILL'), 15_000);
            p.once('exit', () => (clearTimeout(kill), r()));
            p.kill('SIGTERM');
          }),
      ),
    );
    const nc = await busPkg.connectNats({ url: NATS_URL });
    await busPkg.deleteTopology(nc, names);
    await nc.close();
    const keys = await redis.keys('*');
    const own = keys.map((k) => k.slice(env.REDIS_KEY_PREFIX.length));
    if (own.length) await redis.del(...own);
    redis.disconnect();
    await taskdb.dropDatabase();
    await taskdb.close();
    rmSync(dataDir, { recursive: true, force: true });
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
  const w = 640;
  const barH = 26;
  const left = 150;
  const max = Math.max(...rows.map((r) => r.chunks_per_s));
  const bars = rows
    .map((r, i) => {
      const y = 40 + i * (barH + 10);
      const len = Math.max(2, ((w - left - 90) * r.chunks_per_s) / max);
      const color = r.name === 'baseline' ? '#9ca3af' : r.name === 'bus-ceiling' ? '#60a5fa' : '#f59e0b';
      const label = r.name === 'ragline' ? `ragline ×${r.replicas} embedder` : r.name;
      return `<text x="${left - 8}" y="${y + barH * 0.68}" text-anchor="end">${label}</text><rect x="${left}" y="${y}" width="${len.toFixed(1)}" height="${barH}" fill="${color}"/><text x="${(left + len + 6).toFixed(1)}" y="${y + barH * 0.68}">${r.chunks_per_s}</text>`;
    })
    .join('\n  ');
  const h = 60 + rows.length * (barH + 10);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" font-family="sans-serif" font-size="13">
  <text x="${left}" y="22" font-weight="bold">chunks/s (higher is better), same docs and embedding server</text>
  ${bars}
</svg>
`;
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
