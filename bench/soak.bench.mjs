// Soak: a steady stream of small documents of mixed formats (Markdown, text, HTML, JSON, CSV and a
// short PDF every 25th) through the five Ragline apps for SOAK_MINUTES, with resident memory per app
// sampled every SOAK_SAMPLE_S seconds. After the warm-up, memory should stay flat: the mean of the
// last minute is compared with the mean of the minute after the warm-up, and an app passes when it
// grew less than SOAK_MAX_GROWTH_PCT. At the end every task must be done and the doc store must hold
// every expected chunk. Chart in results/soak.svg.
// The embedded doc store starts with SOAK_PREFILL_CHUNKS chunks of another knowledge base of the same
// tenant, so the indexer runs on a store of working size, as a deployed one does: LanceDB's memory
// follows the size of the table it writes, and a store growing from empty would show that as growth.
// Besides growth, each app's trend (least-squares slope of RSS after the warm-up, MB/min) is reported.
// Knobs (env): SOAK_MINUTES (10), SOAK_WARMUP_MINUTES (3), SOAK_RATE (documents/s, 4), SOAK_PREFILL_CHUNKS (20000),
// SOAK_SAMPLE_S (2), SOAK_MAX_GROWTH_PCT (10), SOAK_HEAP_SNAPSHOTS=1 (SIGUSR1 every app after the
// warm-up and at the end; the snapshots are copied to SOAK_SNAPSHOT_DIR, default /tmp/ragline-soak-snapshots),
// SOAK_LOCKED=1 (say in the notes that the run held the machine's heavy-work lock).
import { cpSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { APPS, createBenchEnvironment, mean, percentile, pkg, round, startRssSampler, taskTracker } from './lib/environment.mjs';
import { expectedChunkIds, makePdf, smallDocument, storedChunk } from './lib/documents.mjs';
import { lineChart } from './lib/svg.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const docstorePkg = await pkg('docstore');

const MINUTES = Number(process.env.SOAK_MINUTES ?? 10);
// three minutes: the apps' heaps settle after their first full garbage collections, around minute two
const WARMUP_MIN = Number(process.env.SOAK_WARMUP_MINUTES ?? Math.min(3, MINUTES * 0.3));
const PREFILL = Number(process.env.SOAK_PREFILL_CHUNKS ?? 20_000);
// the comparison windows: a minute each, shorter when the run is too short for that
const WINDOW_MIN = Math.min(1, (MINUTES - WARMUP_MIN) / 2);
const RATE = Number(process.env.SOAK_RATE ?? 4);
const SAMPLE_S = Number(process.env.SOAK_SAMPLE_S ?? 2);
const MAX_GROWTH = Number(process.env.SOAK_MAX_GROWTH_PCT ?? 10);
const SNAPSHOTS = process.env.SOAK_HEAP_SNAPSHOTS === '1';
const SNAPSHOT_DIR = process.env.SOAK_SNAPSHOT_DIR ?? '/tmp/ragline-soak-snapshots';
const PDF_EVERY = 25;
const PARSER_CONFIG = { chunk_token_num: 128, delimiter: '\n', layout_recognize: 'DeepDOC' };
const EMBD_ID = 'ragline-hash-1024@Ragline';
const COLORS = { 'ingest-bridge': '#6366f1', parser: '#f59e0b', embedder: '#10b981', indexer: '#ef4444', monitor: '#0ea5e9' };

const log = (msg) => console.log(`[soak ${new Date().toISOString().slice(11, 19)}] ${msg}`);

async function soakDocument(k) {
  if (k % PDF_EVERY === PDF_EVERY - 1) {
    const pages = 4 + (k % 5);
    return { name: `brief-${String(k).padStart(6, '0')}.pdf`, data: await makePdf(k, pages, 3), type: 'pdf', pages };
  }
  return smallDocument(k);
}

/** Mean of a series' values with t in [from, to) seconds. */
const windowMean = (samples, key, app, from, to) => mean(samples.filter((s) => s.t >= from && s.t < to).map((s) => s[key][app] ?? 0));

/** Averages samples into buckets of `bucketS` seconds, for the result file and the chart. */
function downsample(samples, bucketS) {
  const buckets = new Map();
  for (const s of samples) {
    const b = Math.floor(s.t / bucketS);
    if (!buckets.has(b)) buckets.set(b, []);
    buckets.get(b).push(s);
  }
  return [...buckets.entries()].map(([b, ss]) => ({
    t_s: (b + 0.5) * bucketS,
    rss_mb: Object.fromEntries(APPS.map((a) => [a, round(mean(ss.map((s) => s.tree[a] ?? 0)))])),
    rss_main_mb: Object.fromEntries(APPS.map((a) => [a, round(mean(ss.map((s) => s.main[a] ?? 0)))])),
  }));
}

/** Writes `n` chunks of another knowledge base into the tenant's table before the indexer opens the store. */
async function prefill(dir, tenantId, n) {
  const store = docstorePkg.createLanceDocStore({ dir });
  try {
    await store.ensureIndex(tenantId, 1024);
    for (let from = 0; from < n; from += 500) {
      const docs = [];
      for (let i = from; i < Math.min(n, from + 500); i++) docs.push(storedChunk(i, `prefill${Math.floor(i / 50)}`, 'soakprefill', 1024));
      const res = await store.upsert(tenantId, docs);
      if (res.errors.length) throw new Error(`prefill: ${res.errors[0].reason}`);
      await store.refresh(tenantId);
    }
  } finally {
    await store.close();
  }
}

/** Least-squares slope of an app's RSS over samples with t >= from, in MB per minute. */
function trendMbPerMin(samples, key, app, from) {
  const pts = samples.filter((s) => s.t >= from).map((s) => [s.t / 60, s[key][app] ?? 0]);
  const mx = mean(pts.map((p) => p[0]));
  const my = mean(pts.map((p) => p[1]));
  const sxx = pts.reduce((a, [x]) => a + (x - mx) ** 2, 0);
  return sxx ? pts.reduce((a, [x, y]) => a + (x - mx) * (y - my), 0) / sxx : 0;
}

export async function run() {
  const env = await createBenchEnvironment({ EMBEDDING_URL: '' });
  let sampler;
  const snapping = [];
  try {
    const tenantId = await env.taskdb.ensureTenant({ name: 'bench', embdId: EMBD_ID });
    const kb = await env.taskdb.ensureKnowledgebase({ name: 'soak', tenantId, embdId: EMBD_ID, parserConfig: PARSER_CONFIG });
    if (PREFILL > 0) {
      await prefill(join(env.dataDir, 'docstore'), tenantId, PREFILL);
      log(`doc store prefilled with ${PREFILL} chunks of another knowledge base`);
    }
    env.startAll();
    await env.waitReady();
    log(`apps ready; feeding ${RATE} documents/s for ${MINUTES} min (warm-up ${WARMUP_MIN} min)`);

    sampler = startRssSampler(() => env.pidsByApp(), SAMPLE_S * 1000);
    const tracker = taskTracker(env);
    const expected = new Map();
    const snapshotsAt = [];
    // one app at a time: a snapshot stops its process for seconds, all at once would stall the pipeline
    const snap = (label) =>
      snapping.push(
        (async () => {
          for (const app of APPS) {
            env.heapSnapshot(app);
            snapshotsAt.push({ label, app, t_s: round((performance.now() - t0) / 1000) });
            await sleep(10_000);
          }
          log(`heap snapshots taken (${label})`);
        })(),
      );
    const t0 = performance.now();
    const endAt = t0 + MINUTES * 60_000;
    let k = 0;
    let nextLog = 0;
    let snappedWarm = false;
    let nextPoll = 0;
    // one document every 1/RATE s on a fixed schedule (late ones are sent at once, not skipped)
    while (performance.now() < endAt) {
      const due = t0 + (k * 1000) / RATE;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      const input = await soakDocument(k++);
      const { doc, tasks } = await env.addDocument(kb, input);
      for (const t of tasks) expected.set(t.id, await expectedChunkIds(input, doc, t));
      for (const t of tasks) tracker.add(t.id);
      await env.enqueue(tasks);
      if (performance.now() >= nextPoll) {
        nextPoll = performance.now() + 1000;
        await tracker.poll();
      }
      const elapsedMin = (performance.now() - t0) / 60_000;
      if (SNAPSHOTS && !snappedWarm && elapsedMin >= WARMUP_MIN) {
        snappedWarm = true;
        snap('after warm-up');
      }
      if (performance.now() >= nextLog) {
        nextLog = performance.now() + 30_000;
        const last = sampler.samples.at(-1);
        const rss = APPS.map((a) => `${a} ${Math.round(last.tree[a] ?? 0)}`).join(', ');
        log(`${elapsedMin.toFixed(1)} min: ${k} documents, ${tracker.total - tracker.pending}/${tracker.total} tasks done; RSS MB ${rss}`);
      }
    }
    const feedMs = performance.now() - t0;
    if (SNAPSHOTS) snap('end');
    log(`fed ${k} documents in ${(feedMs / 1000).toFixed(0)} s; draining ${tracker.pending} tasks`);
    // memory is judged on the feeding period only; the drain after it is not part of the soak
    sampler.stop();
    await tracker.drain({ pollMs: 500, stallMs: 300_000 });
    await Promise.all(snapping); // the apps must still be running for the last snapshots
    const drainS = (performance.now() - t0 - feedMs) / 1000;

    const chunks = await tracker.verifyChunkIds(expected);
    const expectedTotal = new Set([...expected.values()].flat()).size;
    await env.stopAll();
    const store = docstorePkg.createLanceDocStore({ dir: join(env.dataDir, 'docstore') });
    const stored = await store.count(tenantId, { kb_id: kb.id });
    await store.close();
    if (stored !== expectedTotal) throw new Error(`doc store holds ${stored} chunks, ${expectedTotal} expected`);
    log(`verified: ${tracker.total} tasks done, ${stored} chunks in the doc store`);

    // growth: mean of the last window against the mean of the window right after the warm-up
    const feedS = feedMs / 1000;
    const baseFrom = WARMUP_MIN * 60;
    const baseTo = baseFrom + WINDOW_MIN * 60;
    const endFrom = feedS - WINDOW_MIN * 60;
    const apps = {};
    for (const app of APPS) {
      const grow = (key) => {
        const base = windowMean(sampler.samples, key, app, baseFrom, baseTo);
        const end = windowMean(sampler.samples, key, app, endFrom, feedS + 1);
        return { base_mb: round(base), end_mb: round(end), growth_pct: round(((end - base) / base) * 100) };
      };
      const tree = grow('tree');
      const main = grow('main');
      const trend = round(trendMbPerMin(sampler.samples, 'tree', app, baseFrom), 2);
      apps[app] = { ...tree, trend_mb_per_min: trend, pass: tree.growth_pct < MAX_GROWTH, main_process: main };
    }
    const latencies = [...tracker.latency.values()].sort((a, b) => a - b);
    const series = downsample(sampler.samples, 10);
    const bands = [
      { from: 0, to: baseFrom / 60, label: 'warm-up' },
      { from: baseFrom / 60, to: baseTo / 60, label: 'base' },
      { from: endFrom / 60, to: feedS / 60, label: 'end' },
    ];
    writeFileSync(
      join(here, 'results', 'soak.svg'),
      lineChart(
        APPS.map((a) => ({ name: `${a} ${apps[a].growth_pct >= 0 ? '+' : ''}${apps[a].growth_pct}%`, color: COLORS[a], points: series.map((p) => [round(p.t_s / 60, 2), p.rss_mb[a]]) })),
        { title: `RSS per app during a ${MINUTES}-minute soak (${RATE} documents/s); growth end vs base`, xLabel: 'minutes', yLabel: 'RSS (MB)', bands },
      ),
    );
    return {
      minutes: MINUTES,
      pass: Object.values(apps).every((a) => a.pass),
      max_growth_pct: MAX_GROWTH,
      apps,
      docs: k,
      tasks: tracker.total,
      chunks,
      chunks_in_docstore: stored,
      tasks_done_before_their_batch_events: tracker.completedBeforeBatches,
      ...(tracker.completedBeforeBatches ? { tasks_done_before_their_batch_events_examples: tracker.completedBeforeBatchesExamples } : {}),
      rate_docs_per_s: RATE,
      achieved_docs_per_s: round(k / feedS, 2),
      drain_s: round(drainS),
      latency_ms: { p50: Math.round(percentile(latencies, 50)), p95: Math.round(percentile(latencies, 95)), p99: Math.round(percentile(latencies, 99)) },
      windows_s: { warmup: [0, baseFrom], base: [baseFrom, round(baseTo)], end: [round(endFrom), round(feedS)] },
      ...(snapshotsAt.length ? { heap_snapshots: snapshotsAt } : {}),
      setup: {
        parser_config: PARSER_CONFIG,
        embedding: 'hashing (EMBEDDING_URL unset), 1024 dims',
        mix: `Markdown, text, HTML, JSON and CSV in turn (1-4 KB), a 4-8 page PDF every ${PDF_EVERY}th document`,
        sample_s: SAMPLE_S,
        notes: [
          `RSS (MB) per app: the app process plus its children (the parser's parse workers), from /proc/<pid>/status VmRSS every ${SAMPLE_S} s; main_process: the app process alone`,
          `growth_pct: mean RSS of the last ${WINDOW_MIN} min of feeding against the mean of the ${WINDOW_MIN} min after the ${WARMUP_MIN}-min warm-up; pass below ${MAX_GROWTH}%`,
          `trend_mb_per_min: least-squares slope of RSS from the end of the warm-up to the end of feeding`,
          `doc store prefilled with ${PREFILL} chunks of another knowledge base of the same tenant before the apps started`,
          process.env.SOAK_LOCKED === '1'
            ? 'ran under the machine\'s heavy-work lock'
            : 'ran without the machine\'s heavy-work lock (it measures memory growth, not speed): other work may have shared the CPU, so latencies are not comparable with the load run',
          'series: 10-second means; chart in bench/results/soak.svg',
        ],
      },
      series,
    };
  } finally {
    sampler?.stop();
    if (SNAPSHOTS) {
      await Promise.all(snapping);
      await sleep(5000); // the last snapshot may still be being written
      const from = join(env.dataDir, 'diagnostics');
      if (existsSync(from)) {
        mkdirSync(SNAPSHOT_DIR, { recursive: true });
        cpSync(from, SNAPSHOT_DIR, { recursive: true });
        log(`heap snapshots copied to ${SNAPSHOT_DIR}`);
      }
    }
    await env.cleanup();
  }
}
