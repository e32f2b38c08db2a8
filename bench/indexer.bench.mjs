// Indexer write path into the embedded LanceDB store: 100k chunks of 1024-dim vectors upserted in
// pipeline-sized batches (PARSER_BATCH_CHUNKS default 32), grouped into tasks whose completion
// refreshes the index as the indexer does. Reports chunks/s, per-batch latency and peak RSS.
// BENCH_INDEXER_CHUNKS overrides the chunk count for a quick run.
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLanceDocStore } from '@ragline/docstore';

const DIM = 1024;

/** Bytes under `dir`: LanceDB keeps every version's files (7 days by default), so this grows with upserts. */
function diskBytes(dir) {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    n += e.isDirectory() ? diskBytes(p) : statSync(p).size;
  }
  return n;
}
const BATCH = 32;
const TASK_CHUNKS = 2000;

/** A deterministic unit vector per chunk, float32-exact, cheap to make (the embedder is not measured). */
function vector(seed) {
  const v = new Float32Array(DIM);
  let x = (seed * 2654435761) >>> 0;
  let norm = 0;
  for (let i = 0; i < DIM; i++) {
    x = (x * 1664525 + 1013904223) >>> 0;
    v[i] = x / 4294967296 - 0.5;
    norm += v[i] * v[i];
  }
  norm = Math.sqrt(norm);
  return Array.from(v, (y) => Math.fround(y / norm));
}

function chunk(n, docId, kbId) {
  const text = `Ledger entry ${n}: vessel ${n * 7 + 3} at berth ${n % 17} with cargo lot ${n * 13 + 1} and ${n % 5} cranes.`;
  const tokens = text.toLowerCase().replace(/[^a-z0-9 ]/g, ' ');
  return {
    id: createHash('sha1').update(`${docId}:${n}`).digest('hex').slice(0, 16),
    doc_id: docId,
    kb_id: kbId,
    docnm_kwd: `${docId}.txt`,
    title_tks: `${docId} txt`,
    title_sm_tks: `${docId} txt`,
    content_with_weight: text,
    content_ltks: tokens,
    content_sm_ltks: tokens,
    page_num_int: [n],
    position_int: [[n, n, n, n, n]],
    top_int: [n],
    important_kwd: [],
    create_time: '2026-11-24 10:00:00',
    create_timestamp_flt: 1_795_000_000 + n,
    img_id: '',
    token_count: 24,
    [`q_${DIM}_vec`]: vector(n),
  };
}

export async function run() {
  const total = Number(process.env.BENCH_INDEXER_CHUNKS ?? 100_000);
  const dir = mkdtempSync(join(tmpdir(), 'ragline-bench-indexer-'));
  const store = createLanceDocStore({ dir });
  let peakRss = process.memoryUsage().rss;
  const sample = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 100);
  const batchMs = [];
  let refreshMs = 0;
  // throughput per 10% of the run: shows how the per-batch merge slows as the table grows
  const segments = [];
  let segStart = performance.now();
  let segChunks = 0;
  try {
    const tenant = 'bench';
    await store.ensureIndex(tenant, DIM);
    const t0 = performance.now();
    for (let start = 0; start < total; start += TASK_CHUNKS) {
      const docId = `doc${start / TASK_CHUNKS}`;
      const end = Math.min(total, start + TASK_CHUNKS);
      for (let b = start; b < end; b += BATCH) {
        const docs = [];
        for (let n = b; n < Math.min(end, b + BATCH); n++) docs.push(chunk(n, docId, 'kb1'));
        const s = performance.now();
        const res = await store.upsert(tenant, docs);
        batchMs.push(performance.now() - s);
        if (res.errors.length) throw new Error(`upsert failed: ${res.errors[0].reason}`);
      }
      // task completion: the indexer refreshes before announcing it
      const r = performance.now();
      await store.refresh(tenant);
      refreshMs += performance.now() - r;
      segChunks += end - start;
      if (segChunks >= total / 10 || end === total) {
        segments.push({ upto: end, chunks_per_s: Math.round(segChunks / ((performance.now() - segStart) / 1000)) });
        segStart = performance.now();
        segChunks = 0;
      }
    }
    const seconds = (performance.now() - t0) / 1000;
    const stored = await store.count(tenant);
    if (stored !== total) throw new Error(`stored ${stored} chunks, expected ${total}`);
    const probe = Math.floor(total / 2) + 7;
    const hits = await store.search({ tenantId: tenant, query: `ledger entry ${probe}`, vector: vector(probe), mode: 'hybrid', topK: 3 });
    batchMs.sort((a, b) => a - b);
    const pct = (p) => +batchMs[Math.min(batchMs.length - 1, Math.floor(p * batchMs.length))].toFixed(1);
    return {
      chunks: total,
      dim: DIM,
      batch_chunks: BATCH,
      task_chunks: TASK_CHUNKS,
      seconds: +seconds.toFixed(1),
      chunks_per_s: Math.round(total / seconds),
      batch_ms: { p50: pct(0.5), p95: pct(0.95), p99: pct(0.99), max: pct(1) },
      refresh_ms_total: Math.round(refreshMs),
      segments,
      disk_mb: Math.round(diskBytes(dir) / 2 ** 20),
      peak_rss_mb: Math.round(peakRss / 2 ** 20),
      check: { stored, top_hit_is_probe: hits[0]?.content_with_weight.startsWith(`Ledger entry ${probe}:`) ?? false },
    };
  } finally {
    clearInterval(sample);
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
