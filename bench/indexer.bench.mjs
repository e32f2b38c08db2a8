// Indexer write path into the embedded LanceDB store: 100k chunks of 1024-dim vectors upserted in
// pipeline-sized batches (PARSER_BATCH_CHUNKS default 32), grouped into tasks whose completion
// refreshes the index as the indexer does. Reports chunks/s, per-batch latency and peak RSS.
// BENCH_INDEXER_CHUNKS overrides the chunk count for a quick run.
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLanceDocStore } from '@ragline/docstore';
import { storedChunk, unitVector } from './lib/documents.mjs';

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
        for (let n = b; n < Math.min(end, b + BATCH); n++) docs.push(storedChunk(n, docId, 'kb1', DIM));
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
    const hits = await store.search({ tenantId: tenant, query: `ledger entry ${probe}`, vector: unitVector(probe, DIM), mode: 'hybrid', topK: 3 });
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
