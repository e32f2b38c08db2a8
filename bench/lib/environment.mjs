// The bench side of a private Ragline environment on the machine's real NATS, Redis and MariaDB (what
// test/support/pipeline.ts does for the e2e tests): its own stream/subject prefixes, Redis key prefix
// and queue names, MySQL database and data dir; the five apps as processes; enqueueing the way
// RAGFlow does; waiting for tasks; cleanup; and CPU/RSS sampling of the app processes from /proc.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const APPS = ['ingest-bridge', 'parser', 'embedder', 'indexer', 'monitor'];
export const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const CLK_TCK = 100; // Linux USER_HZ for /proc/<pid>/stat times

/** A workspace package from its build (bench/ declares only a few of them as dependencies). */
export const pkg = (name) => import(pathToFileURL(join(ROOT, 'packages', name, 'dist', 'index.js')).href);

/** A third-party module as one workspace package resolves it (its own dependency, same version). */
export function depOf(pkgName, specifier) {
  const path = createRequire(join(ROOT, 'packages', pkgName, 'package.json')).resolve(specifier);
  return import(pathToFileURL(path).href);
}

const [taskdbPkg, queuePkg, storagePkg, busPkg, contracts, configPkg] = await Promise.all(['taskdb', 'redis-queue', 'storage', 'bus', 'contracts', 'config'].map(pkg));
// dropDatabase lives in taskdb's test support export, apart from what the apps use
const taskdbTesting = await import(pathToFileURL(join(ROOT, 'packages', 'taskdb', 'dist', 'testing.js')).href);

// ---------------------------------------------------------------------------------------------
// numbers

export function percentile(sorted, p) {
  if (!sorted.length) return 0;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

export const mean = (xs) => (xs.length ? xs.reduce((s, x) => s + x, 0) / xs.length : 0);
export const round = (x, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;

export class Semaphore {
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
// processes: CPU and resident memory from /proc

/** One pass over /proc: parent pid and CPU ticks (user + system, including reaped children) per pid. */
function processTable() {
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
  return { parent, ticks };
}

/** pid -> the root in `roots` it descends from (itself included), for every live process under them. */
function descendants(roots, parent) {
  const set = new Set(roots);
  const out = new Map();
  for (const pid of parent.keys()) {
    let p = pid;
    while (p > 1 && !set.has(p)) p = parent.get(p) ?? 0;
    if (set.has(p)) out.set(pid, p);
  }
  return out;
}

/** CPU ms (user + system, including reaped children) of `pids` and every live descendant. */
export function treeCpuMs(pids) {
  const { parent, ticks } = processTable();
  let total = 0;
  for (const pid of descendants(pids, parent).keys()) total += ticks.get(pid) ?? 0;
  return (total * 1000) / CLK_TCK;
}

/** VmRSS of one process in MB (0 once it has exited). */
export function rssMb(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

/**
 * Samples every `intervalMs` the resident memory of each group of processes (e.g. one app's
 * replicas): `main` is the sum over the group's own processes, `tree` adds their children (the
 * parser's parse workers). Keeps every sample and the peaks.
 */
export function startRssSampler(groups, intervalMs = 1000) {
  const t0 = performance.now();
  const samples = [];
  const peak = {};
  const peakTree = {};
  const take = () => {
    const g = groups();
    const { parent } = processTable();
    const roots = Object.values(g).flat();
    const under = descendants(roots, parent);
    const main = {};
    const tree = {};
    for (const [name, pids] of Object.entries(g)) {
      main[name] = pids.reduce((s, pid) => s + rssMb(pid), 0);
      tree[name] = main[name];
    }
    const groupOf = new Map(Object.entries(g).flatMap(([name, pids]) => pids.map((pid) => [pid, name])));
    for (const [pid, root] of under) if (pid !== root) tree[groupOf.get(root)] += rssMb(pid);
    for (const name of Object.keys(g)) {
      peak[name] = Math.max(peak[name] ?? 0, main[name]);
      peakTree[name] = Math.max(peakTree[name] ?? 0, tree[name]);
    }
    samples.push({ t: (performance.now() - t0) / 1000, main, tree });
  };
  take();
  const timer = setInterval(take, intervalMs);
  return {
    samples,
    peak,
    peakTree,
    stop() {
      clearInterval(timer);
      take();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// the environment

/**
 * A private environment: `extraEnv` is added to every app's environment (e.g. EMBEDDING_URL; without
 * it the embedder uses the hashing embedder, which privateStack chooses so the benches measure the
 * pipeline rather than the local model; `EMBEDDING_LOCAL_KIND: 'local'` measures the model). Call
 * `cleanup()` in a finally.
 */
export async function createBenchEnvironment(extraEnv = {}) {
  const id = randomBytes(4).toString('hex');
  const dataDir = mkdtempSync(join(tmpdir(), `ragline-bench-${id}-`));
  const { env: stackEnv, queues } = configPkg.privateStack({ tag: 'bench', id, dataDir, natsUrl: NATS_URL, logLevel: process.env.LOG_LEVEL ?? 'warn' });
  const env = { ...stackEnv, ...extraEnv };
  if (process.env.BENCH_LOG_DIR) mkdirSync(process.env.BENCH_LOG_DIR, { recursive: true });
  const taskdb = taskdbPkg.createTaskDb({ url: env.MYSQL_URL });
  await taskdb.migrate();
  const redis = queuePkg.createRedis({ url: env.REDIS_URL, keyPrefix: env.REDIS_KEY_PREFIX });
  const objects = storagePkg.createLocalStore({ root: join(dataDir, 'objects') });
  const producer = new queuePkg.RagflowQueueProducer(redis);
  const names = contracts.topologyNames(env.RAGLINE_SUBJECT_PREFIX, env.RAGLINE_STREAM_PREFIX);
  // a plain connection for the bench's own reads (task states), apart from the TaskDb pool
  const mysql = await depOf('taskdb', 'mysql2/promise');
  const sql = mysql.createPool({ uri: env.MYSQL_URL, connectionLimit: 2 });
  /** key "<app>.<replica>" -> child process */
  const procs = new Map();
  const tails = new Map();

  function start(app, replica = 0, more = {}) {
    const key = `${app}.${replica}`;
    const p = spawn(process.execPath, [join(ROOT, 'apps', app, 'dist', 'main.js')], {
      // started as `ragline up` starts them
      env: { ...configPkg.APP_PROCESS_ENV, ...process.env, ...env, RAGLINE_REPLICA: `bench_${id}_${app}_${replica}`, ...more },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    tails.set(key, '');
    // BENCH_LOG_DIR keeps every app's whole output (LOG_LEVEL warn unless set), else only its tail
    const file = process.env.BENCH_LOG_DIR ? createWriteStream(join(process.env.BENCH_LOG_DIR, `${key}.log`), { flags: 'a' }) : undefined;
    const keep = (b) => {
      tails.set(key, (tails.get(key) + b).slice(-4000));
      file?.write(b);
    };
    p.stdout.on('data', keep);
    p.stderr.on('data', keep);
    p.on('exit', (code, sig) => {
      if (!p.stopping) console.error(`[${key}] exited ${code ?? sig}: ${tails.get(key)}`);
    });
    procs.set(key, p);
    return p;
  }

  async function stop(key, signal = 'SIGTERM') {
    const p = procs.get(key);
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    p.stopping = true;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill(signal);
    const kill = setTimeout(() => p.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(kill);
  }

  const stopAll = () => Promise.all([...procs.keys()].map((k) => stop(k)));
  const logTails = () => [...tails].map(([k, t]) => `[${k}] ${t.slice(-600)}`).join('\n');

  return {
    id,
    env,
    queues,
    dataDir,
    taskdb,
    redis,
    objects,
    producer,
    names,
    procs,
    start,
    stop,
    stopAll,
    logTails,

    /** Starts the five apps, `replicas` of each named one (default one each). */
    startAll(replicas = {}) {
      for (const app of APPS) for (let r = 0; r < (replicas[app] ?? 1); r++) start(app, r);
    },

    /** Pids by app ("embedder": [its replicas' pids]), of the processes still running. */
    pidsByApp() {
      const out = {};
      for (const [key, p] of procs) {
        if (p.exitCode !== null || p.signalCode !== null) continue;
        const app = key.slice(0, key.lastIndexOf('.'));
        (out[app] ??= []).push(p.pid);
      }
      return out;
    },

    /**
     * Ready when every stage's durable consumer exists and every started process has sent a
     * heartbeat (apps heartbeat once their consumer loop runs); generous timeout, since apps load
     * slowly on a busy machine.
     */
    async waitReady(timeoutMs = 180_000) {
      const nc = await busPkg.connectNats({ url: NATS_URL });
      try {
        const jsm = await (await depOf('bus', '@nats-io/jetstream')).jetstreamManager(nc);
        const wanted = [
          [names.streams.tasks, names.consumers.parser],
          [names.streams.chunks, names.consumers.embedder],
          [names.streams.index, names.consumers.indexer],
          [names.streams.events, names.consumers.monitorEvents],
        ];
        const deadline = Date.now() + timeoutMs;
        const late = (what) => new Error(`${what} after ${timeoutMs / 1000} s\n${logTails()}`);
        for (const [stream, consumer] of wanted) {
          while (!(await jsm.consumers.info(stream, consumer).then(() => true, () => false))) {
            if (Date.now() > deadline) throw late(`consumer ${stream}/${consumer} missing`);
            await sleep(200);
          }
        }
        for (;;) {
          const alive = (await queuePkg.listWorkers(redis)).filter((w) => w.alive && w.name.includes(`bench_${id}_`));
          if (alive.length >= procs.size) break;
          if (Date.now() > deadline) throw late(`${alive.length}/${procs.size} workers heartbeating`);
          await sleep(200);
        }
      } finally {
        await nc.close();
      }
    },

    /**
     * What RAGFlow's API server does for an upload: stores the file (bucket = kb id), writes the
     * document row and plans its task rows. Returns the tasks to enqueue.
     */
    async addDocument(kb, doc) {
      await objects.put(kb.id, doc.name, doc.data);
      const row = await taskdb.createDocument({
        kbId: kb.id,
        name: doc.name,
        location: doc.name,
        size: doc.data.byteLength,
        type: doc.type ?? 'doc',
        suffix: doc.name.split('.').pop(),
        parserId: 'naive',
        parserConfig: kb.parser_config,
      });
      const tasks = await taskdb.queueDocument(row.id, doc.pages ? { pages: doc.pages } : {});
      return { doc: row, tasks };
    },

    /** XADD the task messages to the normal-priority queue, as RAGFlow's queue_tasks does. */
    async enqueue(tasks) {
      for (const t of tasks) await producer.enqueue(queues[1], { ...t });
    },

    /** Task ids among `ids` that are done (progress 1) or failed (progress -1), with their chunk_ids. */
    async finished(ids) {
      const out = [];
      for (let i = 0; i < ids.length; i += 1000) {
        const [rows] = await sql.query('SELECT id, progress, progress_msg, chunk_ids FROM task WHERE id IN (?) AND (progress >= 1 OR progress < 0)', [
          ids.slice(i, i + 1000),
        ]);
        out.push(...rows);
      }
      return out;
    },

    /** task id -> chunk_ids column as stored now */
    async chunkIdsOf(ids) {
      const out = new Map();
      for (let i = 0; i < ids.length; i += 1000) {
        const [rows] = await sql.query('SELECT id, chunk_ids FROM task WHERE id IN (?)', [ids.slice(i, i + 1000)]);
        for (const r of rows) out.set(r.id, r.chunk_ids);
      }
      return out;
    },

    /** SIGUSR1 to each of an app's processes: a heap snapshot into RAGLINE_DATA_DIR/diagnostics. */
    heapSnapshot(app) {
      for (const [key, p] of procs) if (key.startsWith(`${app}.`)) p.kill('SIGUSR1');
    },

    async cleanup() {
      await stopAll();
      const nc = await busPkg.connectNats({ url: NATS_URL });
      await busPkg.deleteTopology(nc, names);
      await nc.close();
      const keys = await redis.keys('*');
      // keys() returns prefixed names; del() would prefix again, so strip ours
      const own = keys.map((k) => k.slice(env.REDIS_KEY_PREFIX.length));
      if (own.length) await redis.del(...own);
      redis.disconnect();
      await sql.end();
      await taskdbTesting.dropDatabase(taskdb);
      await taskdb.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Follows enqueued tasks to completion: `add` a task id with its enqueue time (performance.now()),
 * `poll` to collect the newly finished ones, `drain` to wait for all. Latency is enqueue to
 * progress 1, at the resolution of the polling. A failed task throws.
 */
export function taskTracker(env) {
  const enqueuedAt = new Map();
  const pending = new Set();
  const latency = new Map();
  const chunkIds = new Map();
  let lastChange = Date.now();
  const tracker = {
    /** tasks whose chunk_ids were incomplete when they turned done (their batch events came later) */
    completedBeforeBatches: 0,
    completedBeforeBatchesExamples: [],
    latency,
    chunkIds,
    get pending() {
      return pending.size;
    },
    get total() {
      return enqueuedAt.size;
    },
    add(id, at = performance.now()) {
      enqueuedAt.set(id, at);
      pending.add(id);
    },
    /** Newly finished tasks since the last poll (count). */
    async poll() {
      if (!pending.size) return 0;
      const rows = await env.finished([...pending]);
      const now = performance.now();
      for (const r of rows) {
        if (r.progress < 0) throw new Error(`task ${r.id} failed: ${r.progress_msg}`);
        pending.delete(r.id);
        latency.set(r.id, now - enqueuedAt.get(r.id));
        chunkIds.set(r.id, String(r.chunk_ids ?? '').split(' ').filter(Boolean));
      }
      if (rows.length) lastChange = Date.now();
      return rows.length;
    },
    /**
     * Checks each task's chunk_ids (read again now) against `expected` (task id -> ids). A batch event
     * the monitor applies after the task's completion still appends its ids, so mismatches are
     * re-read for up to `settleMs` before this throws. Returns the number of chunk ids.
     */
    async verifyChunkIds(expected, settleMs = 60_000) {
      const end = Date.now() + settleMs;
      let wrong = [...expected.keys()];
      let total = 0;
      tracker.completedBeforeBatches = 0;
      tracker.completedBeforeBatchesExamples = [];
      for (;;) {
        const rows = await env.chunkIdsOf(wrong);
        const next = [];
        for (const id of wrong) {
          const got = new Set(String(rows.get(id) ?? '').split(' ').filter(Boolean));
          const want = expected.get(id);
          if (got.size !== want.length || want.some((c) => !got.has(c))) next.push(id);
          else {
            const atDone = chunkIds.get(id)?.length ?? 0;
            if (atDone !== got.size) {
              tracker.completedBeforeBatches++;
              if (tracker.completedBeforeBatchesExamples.length < 5) tracker.completedBeforeBatchesExamples.push({ task: id, chunk_ids_when_done: atDone, chunk_ids_later: got.size });
            }
            chunkIds.set(id, [...got]);
            total += got.size;
          }
        }
        wrong = next;
        if (!wrong.length) return total;
        if (Date.now() > end) {
          const id = wrong[0];
          throw new Error(`${wrong.length} tasks without their chunk ids, e.g. ${id}: ${String(rows.get(id) ?? '').split(' ').filter(Boolean).length} reported, ${expected.get(id).length} expected`);
        }
        await sleep(1000);
      }
    },
    /** Polls until nothing is pending; throws when no task finished for `stallMs`. */
    async drain({ pollMs = 250, stallMs = 300_000, onProgress } = {}) {
      lastChange = Date.now();
      while (pending.size) {
        if (await tracker.poll()) onProgress?.(latency.size, enqueuedAt.size);
        else if (Date.now() - lastChange > stallMs) {
          throw new Error(`no task finished for ${stallMs / 1000} s; ${pending.size}/${enqueuedAt.size} still pending\n${env.logTails()}`);
        }
        if (pending.size) await sleep(pollMs);
      }
    },
  };
  return tracker;
}
