// Embedder throughput: chunks/s through real embedder processes (apps/embedder/dist/main.js) over
// real NATS with 1, 2 and 4 replicas, against a simulated GPU embedding server, and a RAGFlow-style
// baseline in one process (five tasks in flight, one embedding batch of 16 at a time:
// MAX_CONCURRENT_CHUNK_BUILDERS=1, EMBEDDING_BATCH_SIZE=16) calling the same server.
// The server is latency-bound (it sleeps), so replicas scale on waiting, not on this machine's 2 cores.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { ChunkBatch, msgIds, topologyNames } from '@ragline/contracts';
import { startEmbeddingServer } from './fixtures/embedding-server.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
// bench/ depends only on contracts and parsing; the bus and embedding packages are loaded from their builds
const { Publisher, connectNats, deleteTopology, ensureTopology } = await import(join(root, 'packages/bus/dist/index.js'));
const { createOpenAICompatibleBackend, embedTexts } = await import(join(root, 'packages/embedding/dist/index.js'));

const SERVER = { latencyMs: 500, perItemMs: 5, concurrency: 64, dim: 256 };
const CHUNKS_PER_BATCH = 16;
const TASKS = 8;
const WORDS = 'river valley glacier harbour forest meadow canyon delta island tundra plateau lagoon estuary marsh'.split(' ');

const hex = (n) => randomBytes(n).toString('hex');

function chunkText(t, b, c) {
  const words = Array.from({ length: 60 }, (_, i) => WORDS[(t * 7 + b * 3 + c + i * 5) % WORDS.length]);
  return `Task ${t} batch ${b} chunk ${c}: ${words.join(' ')}.`;
}

/** TASKS tasks with `batchesPerTask` batches of 16 chunks, as the parser publishes them. */
function workload(batchesPerTask) {
  const out = [];
  for (let t = 0; t < TASKS; t++) {
    const task = {
      task_id: hex(16),
      doc_id: hex(16),
      kb_id: 'benchkb',
      tenant_id: 'benchtenant',
      embd_id: 'bench@OpenAI-API-Compatible',
      doc_name: `doc-${t}.md`,
      from_page: 0,
      to_page: 100000000,
      received_at: Date.now(),
    };
    for (let b = 0; b < batchesPerTask; b++) {
      const chunks = Array.from({ length: CHUNKS_PER_BATCH }, (_, c) => {
        const text = chunkText(t, b, c);
        return {
          id: hex(8),
          doc_id: task.doc_id,
          kb_id: task.kb_id,
          docnm_kwd: task.doc_name,
          title_tks: `doc ${t}`,
          title_sm_tks: `doc ${t}`,
          content_with_weight: text,
          content_ltks: text.toLowerCase(),
          content_sm_ltks: text.toLowerCase(),
          page_num_int: [b * CHUNKS_PER_BATCH + c + 1],
          position_int: [[b * CHUNKS_PER_BATCH + c + 1, 0, 0, 0, 0]],
          top_int: [0],
          important_kwd: [],
          create_time: '2026-01-01 00:00:00',
          create_timestamp_flt: 1767225600,
          img_id: '',
          token_count: 64,
        };
      });
      out.push({ v: 1, kind: 'chunks', task, batch_no: b, chunks });
    }
  }
  return out;
}

function startEmbedder(env, replica) {
  const p = spawn(process.execPath, [join(root, 'apps/embedder/dist/main.js')], {
    env: { ...process.env, ...env, RAGLINE_REPLICA: `bench_${replica}` },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const ready = new Promise((resolve, reject) => {
    const lines = [];
    for (const s of [p.stdout, p.stderr]) {
      createInterface({ input: s }).on('line', (line) => {
        lines.push(line);
        if (line.includes('embedder ready')) resolve();
      });
    }
    p.once('exit', (code) => reject(new Error(`embedder exited with ${code}:\n${lines.slice(-20).join('\n')}`)));
  });
  return { p, ready };
}

/** CPU seconds (user + system) a process has used so far, from /proc (clock ticks of 10 ms). */
function cpuSeconds(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

async function stopAll(procs) {
  await Promise.all(
    procs.map(
      ({ p }) =>
        new Promise((resolve) => {
          if (p.exitCode !== null) return resolve();
          p.once('exit', resolve);
          p.kill('SIGTERM');
          setTimeout(() => p.kill('SIGKILL'), 10_000).unref();
        }),
    ),
  );
}

/** chunks/s through `replicas` embedder processes sharing one durable consumer. */
async function measureRagline(server, replicas, batchesPerTask) {
  const id = hex(4);
  const names = topologyNames(`benchemb${id}`, `BENCHEMB${id.toUpperCase()}`);
  const nc = await connectNats({ name: `bench-embedder-${id}` });
  const jsm = await ensureTopology(nc, names, { duplicateWindowMs: 60_000 });
  const env = {
    NATS_URL: process.env.NATS_URL ?? 'nats://127.0.0.1:4222',
    RAGLINE_SUBJECT_PREFIX: names.subjectPrefix,
    RAGLINE_STREAM_PREFIX: names.streamPrefix,
    REDIS_URL: 'redis://127.0.0.1:6379/15',
    REDIS_KEY_PREFIX: `bench-emb-${id}:`,
    EMBEDDING_URL: server.url,
    EMBEDDING_MODEL: 'bench',
    LOG_LEVEL: 'info',
    HEARTBEAT_INTERVAL_MS: '60000',
    SHUTDOWN_GRACE_MS: '2000',
    OTEL_TRACES_EXPORTER: 'none',
  };
  const procs = Array.from({ length: replicas }, (_, r) => startEmbedder(env, `${id}_${r}`));
  try {
    await Promise.all(procs.map((x) => x.ready));
    const cpuBefore = procs.map(({ p }) => cpuSeconds(p.pid));
    const batches = workload(batchesPerTask);
    const chunks = batches.length * CHUNKS_PER_BATCH;
    const publisher = new Publisher(nc);
    const callsBefore = server.stats.calls;
    const started = performance.now();
    await Promise.all(
      batches.map((b) => publisher.publish(names.subjects.chunks, ChunkBatch, b, { msgID: msgIds.chunkBatch(b.task.task_id, b.batch_no), taskId: b.task.task_id })),
    );
    for (;;) {
      const n = (await jsm.streams.info(names.streams.index)).state.messages;
      if (n >= batches.length) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const seconds = (performance.now() - started) / 1000;
    const calls = server.stats.calls - callsBefore;
    const cpu = procs.reduce((n, { p }, i) => n + cpuSeconds(p.pid) - cpuBefore[i], 0);
    return {
      name: 'ragline',
      replicas,
      chunks,
      seconds: +seconds.toFixed(2),
      chunks_per_s: +(chunks / seconds).toFixed(1),
      model_calls: calls,
      embedder_cpu_ms_per_chunk: +((cpu * 1000) / chunks).toFixed(2),
      load_average_1m: +(await import('node:os')).loadavg()[0].toFixed(1),
    };
  } finally {
    await stopAll(procs);
    await deleteTopology(nc, names);
    await nc.close();
  }
}

/** RAGFlow's executor: five tasks in flight per process, but embed_limiter lets one batch of 16 run at a time. */
async function measureBaseline(server, batchesPerTask) {
  const backend = createOpenAICompatibleBackend({ url: server.url, model: 'bench' });
  const batches = workload(batchesPerTask);
  const tasks = new Map();
  for (const b of batches) tasks.set(b.task.task_id, [...(tasks.get(b.task.task_id) ?? []), ...b.chunks]);
  let limiter = Promise.resolve();
  const limited = (fn) => {
    const run = limiter.then(fn);
    limiter = run.catch(() => undefined);
    return run;
  };
  // load the tokenizer before the clock starts, as the embedder processes do before they report ready
  await embedTexts(backend, ['warm up'], { batchSize: 16, concurrency: 1 });
  const callsBefore = server.stats.calls;
  const queue = [...tasks.entries()];
  const started = performance.now();
  const worker = async () => {
    for (let next = queue.shift(); next; next = queue.shift()) {
      const [, chunks] = next;
      await limited(() => embedTexts(backend, [chunks[0].docnm_kwd], { batchSize: 16, concurrency: 1 }));
      for (let i = 0; i < chunks.length; i += 16) {
        const texts = chunks.slice(i, i + 16).map((c) => c.content_with_weight);
        await limited(() => embedTexts(backend, texts, { batchSize: 16, concurrency: 1 }));
      }
    }
  };
  await Promise.all(Array.from({ length: 5 }, worker));
  const seconds = (performance.now() - started) / 1000;
  const chunks = batches.length * CHUNKS_PER_BATCH;
  return { name: 'baseline', replicas: 1, chunks, seconds: +seconds.toFixed(2), chunks_per_s: +(chunks / seconds).toFixed(1), model_calls: server.stats.calls - callsBefore };
}

function svgChart(rows) {
  const w = 640;
  const barH = 34;
  const left = 170;
  const top = 40;
  const h = top + rows.length * (barH + 12) + 30;
  const max = Math.max(...rows.map((r) => r.chunks_per_s));
  const bars = rows
    .map((r, i) => {
      const y = top + i * (barH + 12);
      const len = Math.max(2, ((w - left - 90) * r.chunks_per_s) / max);
      const colour = r.name === 'baseline' ? '#9a9a9a' : '#2f6db5';
      const label = r.name === 'baseline' ? 'RAGFlow-style baseline' : `Ragline, ${r.replicas} replica${r.replicas > 1 ? 's' : ''}`;
      return (
        `<text x="${left - 8}" y="${y + barH / 2 + 5}" text-anchor="end" font-size="13">${label}</text>` +
        `<rect x="${left}" y="${y}" width="${len.toFixed(1)}" height="${barH}" fill="${colour}"/>` +
        `<text x="${(left + len + 6).toFixed(1)}" y="${y + barH / 2 + 5}" font-size="13">${r.chunks_per_s}</text>`
      );
    })
    .join('\n  ');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" font-family="sans-serif">
  <rect width="100%" height="100%" fill="white"/>
  <text x="${w / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">Embedder throughput (chunks/s, higher is better)</text>
  ${bars}
  <text x="${w / 2}" y="${h - 8}" text-anchor="middle" font-size="11" fill="#555">simulated server: ${SERVER.latencyMs} ms + ${SERVER.perItemMs} ms/text per call, ${SERVER.concurrency} concurrent calls, ${SERVER.dim} dims</text>
</svg>
`;
}

export async function run() {
  const server = await startEmbeddingServer(SERVER);
  try {
    const rows = [];
    rows.push(await measureBaseline(server, 2));
    for (const replicas of [1, 2, 4]) rows.push(await measureRagline(server, replicas, replicas * 4));
    const one = rows.find((r) => r.name === 'ragline' && r.replicas === 1).chunks_per_s;
    const four = rows.find((r) => r.name === 'ragline' && r.replicas === 4).chunks_per_s;
    const baseline = rows.find((r) => r.name === 'baseline').chunks_per_s;
    writeFileSync(join(here, 'results', 'embedder.svg'), svgChart(rows));
    return {
      server: SERVER,
      embedder_defaults: { EMBEDDER_CONCURRENCY: 16, EMBEDDING_BATCH_SIZE: 16, EMBEDDING_CALL_CONCURRENCY: 4, EMBEDDING_MAX_WAIT_MS: 5 },
      rows,
      scaling_4_vs_1: +(four / one).toFixed(2),
      one_replica_vs_baseline: +(one / baseline).toFixed(2),
      chart: 'bench/results/embedder.svg',
    };
  } finally {
    await server.close();
  }
}
