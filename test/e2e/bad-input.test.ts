// Issue #8: the bad-input corpus, end to end through the six running processes. Every bad input is
// fed at once (queue entries, files, messages injected into JetStream); each case then checks its own
// error where it surfaces (bridge log, task progress_msg, dead letter, monitor log), and the suite
// proves the pipeline kept serving: good documents queued between and after the bad ones complete, no
// process exited, nothing is left pending. Config cases start one app with one bad setting each.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConnection } from 'mysql2/promise';
import { Publisher, connectNats, consumerLag, type JetStreamManager, type NatsConnection } from '@ragline/bus';
import { DeadLetter, decode } from '@ragline/contracts';
import { RAGFLOW_CONSUMER_GROUP, queueStats } from '@ragline/redis-queue';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CONFIG_CASES,
  CONTRACT_CASES,
  DLQ_CASES,
  FILE_CASES,
  MAX_FILE_BYTES,
  QUEUE_CASES,
  type BadInputCase,
  type CaseContext,
  type ConfigCase,
  type Fed,
  type Surface,
} from '../support/bad-input-cases.js';
import { ROOT, createEnvironment, type Environment } from '../support/pipeline.js';

const GOOD_TEXT = (tag: string) =>
  Array.from({ length: 12 }, (_, i) => `Line ${i + 1} of the ${tag} document: the pipeline still turns good files into chunks after bad input.`).join('\n');

let env: Environment;
let nc: NatsConnection;
let jsm: JetStreamManager;
let ctx: CaseContext;
const fed = new Map<string, Fed>();
/** good documents fed between the bad ones */
const goodTasks: string[] = [];
const dlqFed = new Map<string, Fed>();
/** config cases run in the background while the pipeline works; each test awaits its result */
const configRuns = new Map<string, Promise<ConfigRun>>();
let configDir: string;
const startedAt = Date.now();

interface ConfigRun {
  code: number | null;
  output: string;
  ms: number;
}

/** Log lines of one app, parsed (pino JSON; anything else is skipped). */
function logsOf(app: string): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const l of env.logs) {
    if (l.app !== app) continue;
    try {
      out.push(JSON.parse(l.line) as Record<string, unknown>);
    } catch {
      /* not a JSON log line */
    }
  }
  return out;
}

const errMessage = (line: Record<string, unknown>): string => String((line.err as { message?: unknown } | undefined)?.message ?? '');

/** Every dead letter in the DLQ stream, read by sequence (limits retention: they stay). */
/**
 * Whether a message id is the case's: a task's JetStream id is per queue entry
 * (`task.<task_id>.<stream>.<entry_id>`, so a case knows its prefix); injected messages carry theirs exactly.
 */
function sameMessage(id: string | undefined, expected: string | undefined): boolean {
  return id === expected || (expected?.startsWith('task.') === true && id?.startsWith(`${expected}.`) === true);
}

async function deadLetters(): Promise<DeadLetter[]> {
  const info = await jsm.streams.info(env.names.streams.dlq);
  const out: DeadLetter[] = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
    const m = await jsm.streams.getMessage(env.names.streams.dlq, { seq }).catch(() => null);
    if (!m) continue;
    try {
      out.push(decode(DeadLetter, m.data));
    } catch {
      /* an invalid message injected on a dlq subject by the DLQ cases */
    }
  }
  return out;
}

async function check(c: BadInputCase, f: Fed, s: Surface): Promise<void> {
  switch (s.at) {
    case 'bridge-log': {
      const line = await env.waitFor(`bridge log "${s.msg}" for ${c.name}`, async () =>
        logsOf('ingest-bridge.0').find((l) => l.msg === s.msg && (s.by === 'entry' ? l.entry_id === f.entryId : l.task_id === f.taskId)),
      );
      if (s.error) expect(errMessage(line), c.name).toMatch(s.error);
      return;
    }
    case 'task': {
      const task = await env.waitFor(`task of ${c.name} failed`, async () => {
        const t = await env.taskdb.getTask(f.taskId!);
        return t && t.progress === -1 ? t : undefined;
      });
      expect(task.progress_msg, c.name).toMatch(s.line);
      if (s.documentFailed) {
        const d = await env.waitFor(`document of ${c.name} failed`, async () => {
          const doc = await env.taskdb.getDocument(f.docId!);
          return doc && doc.run === '4' ? doc : undefined;
        });
        expect(d.progress).toBe(-1);
      }
      return;
    }
    case 'dlq': {
      // a task's JetStream id is per queue entry (task.<task_id>.<stream>.<entry_id>); injected messages carry theirs exactly
      const dl = await env.waitFor(`dead letter of ${c.name}`, async () => (await deadLetters()).find((d) => sameMessage(d.headers['Nats-Msg-Id']?.[0], f.msgId)));
      expect(dl.stage, c.name).toBe(s.stage);
      expect(dl.error.message, c.name).toMatch(s.error);
      expect(dl.error.retryable, c.name).toBe(false);
      if (s.deliveries !== undefined) expect(dl.deliveries, `${c.name}: deliveries`).toBe(s.deliveries);
      return;
    }
    case 'monitor-log': {
      await env.waitFor(`monitor log "${s.msg}" for ${c.name}`, async () =>
        logsOf('monitor.0').find((l) => l.msg === s.msg && s.error.test(errMessage(l))),
      );
      return;
    }
  }
}

async function runCase(c: BadInputCase): Promise<void> {
  const f = fed.get(c.name);
  expect(f, `${c.name} was fed`).toBeDefined();
  for (const s of c.expect(f!)) await check(c, f!, s);
}

async function queueGood(tag: string): Promise<string> {
  const { tasks } = await env.addDocument(`good-${tag}.md`, GOOD_TEXT(tag));
  await env.producer.enqueue(env.queues[1]!, { ...tasks[0]! });
  return tasks[0]!.id;
}

async function taskDone(taskId: string): Promise<void> {
  await env.waitFor(`good task ${taskId} done`, async () => {
    const t = await env.taskdb.getTask(taskId);
    if (t && t.progress < 0) throw new Error(`good task failed: ${t.progress_msg}`);
    return t && t.progress >= 1;
  });
}

function appsAlive(): void {
  for (const [key, p] of env.procs) expect({ app: key, exitCode: p.exitCode, signal: p.signalCode }).toEqual({ app: key, exitCode: null, signal: null });
}

/** Starts `node apps/<app>/dist/main.js` with the environment's settings plus the case's bad one. */
function runConfigCase(c: ConfigCase): Promise<ConfigRun> {
  const caseEnv: Record<string, string | undefined> = { ...process.env, ...env.env, RAGLINE_REPLICA: `config_${env.id}`, ...c.env };
  // YAML only counts where no env var overrides it (env wins, as in RAGFlow)
  if (c.yaml) {
    const file = join(configDir, `${c.name.replace(/[^a-z0-9]+/gi, '-')}.yaml`);
    writeFileSync(file, c.yaml);
    caseEnv.RAGLINE_CONFIG_FILE = file;
    if (/^mysql:/m.test(c.yaml)) delete caseEnv.MYSQL_URL;
  }
  const t0 = Date.now();
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [join(ROOT, 'apps', c.app, 'dist', 'main.js')], { env: caseEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    p.stdout.on('data', (b: Buffer) => (output += b.toString()));
    p.stderr.on('data', (b: Buffer) => (output += b.toString()));
    // a config error must stop the process at once; 20 s means it did not
    const timer = setTimeout(() => p.kill('SIGKILL'), 20_000);
    p.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output, ms: Date.now() - t0 });
    });
  });
}

beforeAll(async () => {
  env = await createEnvironment({ PARSER_MAX_FILE_BYTES: String(MAX_FILE_BYTES), PARSER_BATCH_CHUNKS: '4' });
  env.startAll();
  nc = await connectNats({ url: env.env.NATS_URL, name: `bad-input-${env.id}` });
  const publisher = new Publisher(nc);
  jsm = await publisher.js.jetstreamManager();
  const sqlConn = await createConnection(env.env.MYSQL_URL!);
  ctx = {
    env,
    publisher,
    xadd: async (fields) => String(await env.redis.xadd(env.queues[0]!, '*', ...fields)),
    async target(name) {
      const { doc, kb, tasks, tenantId } = await env.addDocument(name, 'A document bad messages are aimed at.');
      const t = tasks[0]!;
      const ref = {
        task_id: t.id,
        doc_id: doc.id,
        kb_id: kb.id,
        tenant_id: tenantId,
        embd_id: 'ragline-hash-1024@Ragline',
        doc_name: name,
        from_page: t.from_page,
        to_page: t.to_page,
        received_at: Date.now(),
      };
      return { ref, taskId: t.id, docId: doc.id, kbId: kb.id };
    },
    async sql(statement, params) {
      await sqlConn.query(statement, params);
    },
  };
  // JetStream injections need the streams: every app ensures the topology before it logs "started"
  await env.waitFor('six apps started', async () => env.logs.filter((l) => l.line.includes('"msg":"started"')).length >= 6, 60_000);

  configDir = mkdtempSync(join(tmpdir(), 'ragline-bad-config-'));
  // two at a time: the machine has two cores and the pipeline is busy too
  const pendingConfig = [...CONFIG_CASES];
  const lanes = [0, 1].map(async () => {
    for (let c = pendingConfig.shift(); c; c = pendingConfig.shift()) {
      const run = runConfigCase(c);
      configRuns.set(c.name, run);
      await run;
    }
  });

  // queue entries first (half of them, then a good document, then the rest), then files, then messages
  const half = Math.ceil(QUEUE_CASES.length / 2);
  for (const c of QUEUE_CASES.slice(0, half)) fed.set(c.name, await c.feed(ctx));
  goodTasks.push(await queueGood('between-queue-cases'));
  for (const c of QUEUE_CASES.slice(half)) fed.set(c.name, await c.feed(ctx));
  for (const c of FILE_CASES) fed.set(c.name, await c.feed(ctx));
  goodTasks.push(await queueGood('between-files-and-contracts'));
  for (const c of CONTRACT_CASES) fed.set(c.name, await c.feed(ctx));
  for (const c of DLQ_CASES) {
    const t = await ctx.target(`dlq-${c.name.replace(/[^a-z0-9]+/gi, '-')}.txt`);
    const msgId = `bad-dlq.${t.taskId}`;
    await publisher.publishRaw(env.names.subjects.dlq('parser'), Buffer.from(c.body(t.ref)), { msgID: msgId, taskId: t.taskId, docId: t.docId });
    dlqFed.set(c.name, { taskId: t.taskId, docId: t.docId, msgId });
  }
  await sqlConn.end();
  // the config runs finish on their own; make sure none is left running when the suite ends
  void Promise.all(lanes);
}, 180_000);

afterAll(async () => {
  await Promise.allSettled([...configRuns.values()]);
  if (configDir) rmSync(configDir, { recursive: true, force: true });
  await nc?.close();
  await env?.cleanup();
});

describe('bad input end to end: each case fails with its own error and the services keep serving', () => {
  it('completes the good documents queued between the bad inputs', async () => {
    for (const id of goodTasks) await taskDone(id);
    appsAlive();
  });

  describe('queue: RAGFlow Redis entries', () => {
    it.each(QUEUE_CASES.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
      await runCase(c);
    });
  });

  describe('files: what the parser is given', () => {
    it.each(FILE_CASES.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
      await runCase(c);
    });
  });

  describe('contracts: invalid messages injected into JetStream', () => {
    it.each(CONTRACT_CASES.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
      await runCase(c);
    });

    it.each(DLQ_CASES.map((c) => [c.name, c] as const))('%s: the monitor logs and drops it without failing anything', async (name, c) => {
      const f = dlqFed.get(name)!;
      const line = await env.waitFor(`monitor drops the invalid dead letter ${name}`, async () =>
        logsOf('monitor.0').find((l) => l.msg === 'unprocessable message dropped' && l.msg_id === f.msgId),
      );
      expect(errMessage(line)).toMatch(c.error);
      // the dead letter named a real task, but an invalid dead letter fails nothing
      const t = await env.taskdb.getTask(f.taskId!);
      expect(t!.progress).toBe(0);
    });
  });

  describe('config: one bad setting stops the app at once, naming the key', () => {
    it.each(CONFIG_CASES.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
      const run = await configRuns.get(c.name)!;
      expect(run.code, `${c.app} exit code\n${run.output}`).not.toBe(0);
      expect(run.code, `${c.app} must exit by itself\n${run.output}`).not.toBeNull();
      expect(run.ms, `${c.app} took ${run.ms} ms to fail`).toBeLessThan(15_000);
      expect(run.output).toMatch(c.error);
      for (const secret of c.secrets ?? []) expect(run.output).not.toContain(secret);
    });
  });

  it('kept serving: a good document after all bad input completes, no process exited, nothing is left pending', async () => {
    const last = await queueGood('after-everything');
    await taskDone(last);
    appsAlive();
    const consumers = [
      [env.names.streams.tasks, env.names.consumers.parser],
      [env.names.streams.chunks, env.names.consumers.embedder],
      [env.names.streams.index, env.names.consumers.indexer],
      [env.names.streams.events, env.names.consumers.monitorEvents],
      [env.names.streams.dlq, env.names.consumers.monitorDlq],
    ] as const;
    const left = await env.waitFor(
      'queues and consumers drained',
      async () => {
        const lags = await Promise.all(consumers.map(([s, c]) => consumerLag(jsm, s, c)));
        const redis = await Promise.all(env.queues.map((q) => queueStats(env.redis, q, RAGFLOW_CONSUMER_GROUP)));
        const busy = lags.filter((l) => l.pending > 0 || l.ackPending > 0 || (l.stream !== env.names.streams.dlq && l.streamMessages > 0));
        return busy.length === 0 && redis.every((r) => r.pending === 0 && r.lag === 0) ? { lags, redis } : undefined;
      },
      30_000,
    );
    expect(left.redis.map((r) => r.pending)).toEqual([0, 0]);
    for (const l of left.lags) expect({ consumer: l.consumer, pending: l.pending, ackPending: l.ackPending }).toEqual({ consumer: l.consumer, pending: 0, ackPending: 0 });
    // every bad input that reached a stage is accounted for as a dead letter, none of them retried
    const dls = await deadLetters();
    const expected = [...FILE_CASES, ...CONTRACT_CASES].map((c) => fed.get(c.name)!.msgId);
    for (const id of expected) expect(dls.some((d) => sameMessage(d.headers['Nats-Msg-Id']?.[0], id)), `dead letter ${id}`).toBe(true);
    // ...each dead-lettered once: a message that was not really terminated comes back and is dead-lettered again
    const again = ['parser.0', 'embedder.0', 'indexer.0']
      .flatMap((a) => logsOf(a))
      .filter((l) => l.msg === 'message dead-lettered' && Number(l.deliveries) > 1);
    expect(again.map((l) => `${String(l.task_id)}: ${errMessage(l)}`)).toEqual([]);
    const slowestConfig = Math.max(...(await Promise.all([...configRuns.values()])).map((r) => r.ms));
    const cases = QUEUE_CASES.length + FILE_CASES.length + CONTRACT_CASES.length + DLQ_CASES.length + CONFIG_CASES.length;
    console.log(`bad-input suite: ${cases} cases in ${((Date.now() - startedAt) / 1000).toFixed(1)} s; slowest config failure ${slowestConfig} ms`);
  });
});
