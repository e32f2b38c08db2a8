import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { connectNats, deleteTopology } from '@ragline/bus';
import { privateStack } from '@ragline/config';
import { topologyNames } from '@ragline/contracts';
import { createElasticDocStore, createLanceDocStore, type DocStore } from '@ragline/docstore';
import { RagflowQueueProducer, createRedis } from '@ragline/redis-queue';
import { createLocalStore, createObjectStore } from '@ragline/storage';
import { createTaskDb } from '@ragline/taskdb';
import { dropDatabase } from '@ragline/taskdb/testing';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const APPS = ['ingest-bridge', 'parser', 'enricher', 'embedder', 'indexer', 'monitor'] as const;
export type App = (typeof APPS)[number];

export interface EnvironmentOptions {
  /**
   * Settings only the app processes get, on top of `env` (which the test's own connections use): e.g.
   * apps reach MySQL through a fault proxy while the test checks the database directly.
   */
  appEnv?: (env: Readonly<Record<string, string>>) => Record<string, string>;
}

/**
 * A private Ragline environment on the machine's real NATS, Redis and MariaDB: its own stream and
 * subject prefixes, Redis key prefix and queue names, MySQL database and data dir. `extraEnv` may
 * point it elsewhere (private servers, S3_* for an S3 object store, ELASTICSEARCH_URL), for the apps
 * and the test's own clients alike.
 */
export async function createEnvironment(extraEnv: Record<string, string> = {}, opts: EnvironmentOptions = {}) {
  const id = randomBytes(4).toString('hex');
  const dataDir = mkdtempSync(join(tmpdir(), `ragline-e2e-${id}-`));
  const stack = privateStack({ tag: 'e2e', id, dataDir, natsUrl: process.env.NATS_URL });
  const { queues } = stack;
  const redisPrefix = stack.env.REDIS_KEY_PREFIX!;
  const env: Record<string, string> = { ...stack.env, ...extraEnv };
  const taskdb = createTaskDb({ url: env.MYSQL_URL });
  await taskdb.migrate();
  const redis = createRedis({ url: env.REDIS_URL, keyPrefix: env.REDIS_KEY_PREFIX });
  const store = env.S3_ENDPOINT
    ? createObjectStore({ endpoint: env.S3_ENDPOINT, accessKey: env.S3_ACCESS_KEY, secretKey: env.S3_SECRET_KEY, localRoot: join(dataDir, 'objects') })
    : createLocalStore({ root: join(dataDir, 'objects') });
  const appEnv = { ...env, ...opts.appEnv?.(env) };
  const producer = new RagflowQueueProducer(redis);
  const names = topologyNames(env.RAGLINE_SUBJECT_PREFIX, env.RAGLINE_STREAM_PREFIX);
  const procs = new Map<string, ChildProcess>();
  const logs: { app: string; line: string }[] = [];

  function start(app: App, replica = 0, more: Record<string, string> = {}): ChildProcess {
    const p = spawn(process.execPath, [join(ROOT, 'apps', app, 'dist', 'main.js')], {
      env: { ...process.env, ...appEnv, RAGLINE_REPLICA: `e2e_${id}_${replica}`, ...more },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    for (const s of [p.stdout!, p.stderr!]) createInterface({ input: s }).on('line', (line) => logs.push({ app: `${app}.${replica}`, line }));
    procs.set(`${app}.${replica}`, p);
    return p;
  }

  async function stop(key: string, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    const p = procs.get(key);
    if (!p || p.exitCode !== null || p.signalCode !== null) return p?.exitCode ?? null;
    const exited = new Promise<number | null>((r) => p.once('exit', (code) => r(code)));
    p.kill(signal);
    const code = await Promise.race([exited, sleep(15_000).then(() => 'timeout' as const)]);
    if (code === 'timeout') {
      p.kill('SIGKILL');
      return null;
    }
    return code;
  }

  return {
    id,
    env,
    /** what the app processes get (env plus EnvironmentOptions.appEnv) */
    appEnv,
    queues,
    dataDir,
    taskdb,
    redis,
    store,
    producer,
    names,
    logs,
    procs,
    start,
    stop,
    startAll() {
      for (const a of APPS) start(a);
    },
    /** the doc store the apps write: Elasticsearch when ELASTICSEARCH_URL is set, else the embedded one */
    docstore: (): DocStore =>
      env.ELASTICSEARCH_URL
        ? createElasticDocStore({ node: env.ELASTICSEARCH_URL, username: env.ES_USERNAME, password: env.ES_PASSWORD })
        : createLanceDocStore({ dir: join(dataDir, 'docstore') }),
    /** polls `fn` until it returns a value; `opts` is the timeout in ms (default 90 s) or { timeoutMs, everyMs (default 200) } */
    async waitFor<T>(
      what: string,
      fn: () => Promise<T | undefined | null | false>,
      opts: number | { timeoutMs?: number; everyMs?: number } = {},
    ): Promise<T> {
      const { timeoutMs = 90_000, everyMs = 200 } = typeof opts === 'number' ? { timeoutMs: opts } : opts;
      const end = Date.now() + timeoutMs;
      while (Date.now() < end) {
        const v = await fn();
        if (v) return v;
        await sleep(everyMs);
      }
      const tail = logs.slice(-40).map((l) => `[${l.app}] ${l.line}`).join('\n');
      throw new Error(`timed out waiting for ${what}\n--- last log lines ---\n${tail}`);
    },
    /** waits until the document's run is done ('3'); a failed run ('4') throws with its progress_msg */
    waitForDocument(docId: string, what: string, opts: number | { timeoutMs?: number; everyMs?: number } = {}) {
      return this.waitFor(
        what,
        async () => {
          const d = await taskdb.getDocument(docId);
          if (d && d.run === '4') throw new Error(`document failed: ${d.progress_msg}`);
          return d && d.run === '3' ? d : undefined;
        },
        opts,
      );
    },
    /**
     * Does what RAGFlow's API server does for an upload: stores the file (bucket = kb id), writes the
     * document row and plans its task rows; the caller enqueues the returned tasks.
     */
    async addDocument(
      name: string,
      content: string | Buffer | null,
      /** tenant: tenant name (default "e2e"); a tenant of its own gives a load its own doc store table */
      opts: { kb?: string; tenant?: string; parserConfig?: Record<string, unknown>; type?: string; info?: { pages?: number; rows?: number } } = {},
    ) {
      const embdId = 'ragline-hash-1024@Ragline';
      const tenantId = await taskdb.ensureTenant({ name: opts.tenant ?? 'e2e', embdId });
      const kb = await taskdb.ensureKnowledgebase({
        name: opts.kb ?? 'e2e',
        tenantId,
        embdId,
        parserConfig: opts.parserConfig ?? { chunk_token_num: 48, delimiter: '\n', layout_recognize: 'DeepDOC' },
      });
      const data = content === null ? null : Buffer.isBuffer(content) ? content : Buffer.from(content);
      if (data) await store.put(kb.id, name, data);
      const doc = await taskdb.createDocument({
        kbId: kb.id,
        name,
        location: name,
        size: data?.byteLength ?? 0,
        type: opts.type ?? 'doc',
        suffix: name.split('.').pop()!,
        parserId: 'naive',
        parserConfig: kb.parser_config,
      });
      const tasks = await taskdb.queueDocument(doc.id, opts.info);
      return { kb, doc, tasks, tenantId };
    },
    async cleanup() {
      await Promise.all([...procs.keys()].map((k) => stop(k)));
      const nc = await connectNats({
        url: env.NATS_URL,
        user: env.NATS_USER,
        password: env.NATS_PASSWORD,
        tls: env.NATS_TLS_CA ? { ca: env.NATS_TLS_CA } : undefined,
      });
      await deleteTopology(nc, names);
      await nc.close();
      const keys = await redis.keys('*');
      // keys() returns prefixed names; del() would prefix again, so strip ours
      const own = keys.map((k) => k.slice(redisPrefix.length));
      if (own.length) await redis.del(...own);
      redis.disconnect();
      await dropDatabase(taskdb);
      await taskdb.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
export type Environment = Awaited<ReturnType<typeof createEnvironment>>;
