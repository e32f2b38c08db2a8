import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connectNats, consumerConfigs, type NatsConnection } from '@ragline/bus';
import { loadConfig } from '@ragline/config';
import { cancelTask } from '@ragline/redis-queue';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool } from 'mysql2/promise';
import { CliEnv } from '../../packages/cli/src/context.js';
import { recoverTasks } from '../../packages/cli/src/recover.js';
import { deleteDocument, reparseDocument, type DocumentActionDeps } from '../../packages/cli/src/reparse.js';
import { APPS, createEnvironment, type Environment } from '../support/pipeline.js';
import { assertInvariants, expectedTaskChunkIds, taskRows, waitAllTasksEnded } from './support/invariants.js';
import { LOAD_PARSER_CONFIG, enqueueLoad, enqueuePlan, mixedCorpus, type LoadPlan } from './support/load.js';
import { supervise, type Supervised } from './support/supervise.js';

/**
 * The failures RAGFlow's own JetStream ingestor (internal/ingestion) hit, each reproduced against
 * Ragline's real apps on the machine's NATS, Redis and MariaDB, named by the RAGFlow issue; then
 * re-parse and delete as RAGFlow's document actions do them.
 */

function took(t0: number): string {
  return `${((Date.now() - t0) / 1000).toFixed(1)}s`;
}

async function natsOf(env: Environment): Promise<{ nc: NatsConnection; jsm: JetStreamManager }> {
  const nc = await connectNats({ url: env.env.NATS_URL, name: 'ragflow-jetstream-test' });
  return { nc, jsm: await jetstreamManager(nc) };
}

/** Deliveries (first ones and redeliveries alike) of every work consumer (everything but the monitor's), by durable name. */
async function workConsumers(env: Environment, jsm: JetStreamManager): Promise<Map<string, { stream: string; delivered: number }>> {
  const out = new Map<string, { stream: string; delivered: number }>();
  for (const { stream, config } of consumerConfigs(env.names)) {
    if (stream === env.names.streams.events || stream === env.names.streams.dlq) continue;
    const info = await jsm.consumers.info(stream, config.durable_name!);
    out.set(config.durable_name!, { stream, delivered: info.delivered.consumer_seq });
  }
  return out;
}

/**
 * Per work stream: messages ever stored (its last sequence) and deliveries by its consumers. Each
 * message of a work stream goes to exactly one consumer, so the two are equal unless a message was
 * delivered twice: nak'ed (for back-pressure or a retry) or left to run out its ack wait.
 */
async function deliveriesPerMessage(env: Environment, jsm: JetStreamManager): Promise<{ stream: string; messages: number; deliveries: number }[]> {
  const consumers = await workConsumers(env, jsm);
  const out: { stream: string; messages: number; deliveries: number }[] = [];
  for (const stream of new Set([...consumers.values()].map((c) => c.stream))) {
    const messages = (await jsm.streams.info(stream)).state.last_seq;
    const deliveries = [...consumers.values()].filter((c) => c.stream === stream).reduce((n, c) => n + c.delivered, 0);
    out.push({ stream, messages, deliveries });
  }
  return out;
}

/** The same document set with its current rows (new task ids after a re-parse, a changed parser config). */
async function reloadPlan(env: Environment, plan: LoadPlan): Promise<LoadPlan> {
  const docs = [];
  for (const d of plan.docs) {
    const doc = (await env.taskdb.getDocument(d.doc.id))!;
    const tasks = (await env.taskdb.listTasks({ docId: d.doc.id, limit: 1000 })).map((t) => ({ ...t, id: t.id }));
    docs.push({ ...d, doc, tasks: tasks as unknown as typeof d.tasks });
  }
  return { docs, taskIds: docs.flatMap((d) => d.tasks.map((t) => t.id)) };
}

/** One statement on the environment's database (what RAGFlow's API server writes directly). */
async function sql(env: Environment, query: string, params: unknown[] = []): Promise<Record<string, unknown>[]> {
  const db = createPool({ uri: env.env.MYSQL_URL, connectionLimit: 1 });
  try {
    const [rows] = await db.query(query, params);
    return rows as Record<string, unknown>[];
  } finally {
    await db.end();
  }
}

/** A supervised pipeline (apps restarted when killed) with a NATS connection, up for one describe block. */
function supervisedPipeline(settings: Record<string, string>): { env: Environment; sup: Supervised; nats: Awaited<ReturnType<typeof natsOf>> } {
  const run = {} as { env: Environment; sup: Supervised; nats: Awaited<ReturnType<typeof natsOf>> };
  beforeAll(async () => {
    run.env = await createEnvironment(settings);
    run.sup = supervise(run.env);
    run.nats = await natsOf(run.env);
  });
  afterAll(async () => {
    await run.nats?.nc.close();
    await run.sup?.stop();
    await run.env?.cleanup();
  });
  return run;
}

function actions(env: Environment): DocumentActionDeps {
  return { taskdb: env.taskdb, store: env.store, docstore: env.docstore(), producer: env.producer, redis: env.redis, queue: env.queues[env.queues.length - 1]! };
}

describe('RAGFlow #18278: no nak storm, a burst of 10x capacity ends with every task done', () => {
  // one task at a time per stage replica: the burst is far more than the stages can hold
  const run = supervisedPipeline({ PARSER_CONCURRENCY: '1', EMBEDDER_CONCURRENCY: '1', MONITOR_SYNC_MS: '1000' });

  it('fetches only what free workers take: no message is ever redelivered, every task is done', async () => {
    const t0 = Date.now();
    const plan = await enqueueLoad(run.env, await mixedCorpus(40, 'nak-storm'));
    expect(plan.taskIds.length).toBeGreaterThanOrEqual(10 * 1);
    await waitAllTasksEnded(run.env, plan, 240_000);
    const report = await assertInvariants(run.env, plan);
    const streams = await deliveriesPerMessage(run.env, run.nats.jsm);
    console.log(`[ragflow #18278] ${plan.taskIds.length} tasks, ${report.chunks} chunks; ${streams.map((x) => `${x.stream} ${x.messages} messages / ${x.deliveries} deliveries`).join(', ')}; ${took(t0)}`);
    expect(report.done).toBe(plan.taskIds.length);
    // a stage that took more than it could work on and nak'ed the rest would deliver some messages
    // twice (each nak is a redelivery); so would a keep-alive that let ack wait expire during work
    for (const x of streams) {
      expect(x.messages, `${x.stream} messages`).toBeGreaterThan(0);
      expect(x.deliveries, `${x.stream}: one delivery per message`).toBe(x.messages);
    }
  });
});

describe('RAGFlow #18381: a message redelivered to another replica while the first still works it', () => {
  let env: Environment;
  let nats: Awaited<ReturnType<typeof natsOf>>;

  beforeAll(async () => {
    env = await createEnvironment({ NATS_ACK_WAIT_MS: '2000', MONITOR_SYNC_MS: '1000', PARSER_BATCH_CHUNKS: '8' });
    for (const app of APPS) if (app !== 'parser') env.start(app);
    env.start('parser', 0);
    nats = await natsOf(env);
  });
  afterAll(async () => {
    for (const p of env?.procs.values() ?? []) if (p.exitCode === null) p.kill('SIGCONT');
    await nats?.nc.close();
    await env?.cleanup();
  });

  it('each chunk once, one completion, one progress sequence', async () => {
    const t0 = Date.now();
    // one big text document: parsing it takes long enough to freeze the parser in the middle
    const big = Buffer.from(Array.from({ length: 12_000 }, (_, i) => `Line ${i} of the redelivery document about harbour cargo and ledgers.`).join('\n'));
    const plan = await enqueueLoad(env, [{ name: 'redelivered.txt', format: 'txt', data: big }], { enqueue: false });
    const parserStream = env.names.streams.tasks;
    await enqueuePlan(env, plan);
    // the moment parser.0 holds the message, freeze it: no keep-alives, so ack wait runs out under it
    await env.waitFor(
      'parser.0 holding the task',
      // (not found until the apps have created the topology)
      async () => (await nats.jsm.consumers.info(parserStream, env.names.consumers.parser).catch(() => null))?.num_ack_pending === 1,
      { timeoutMs: 60_000, everyMs: 10 },
    );
    const first = env.procs.get('parser.0')!;
    first.kill('SIGSTOP');
    // a second replica gets the message once ack wait (2 s) ran out, and finishes the task
    env.start('parser', 1);
    await waitAllTasksEnded(env, plan, 120_000);
    const done = (await taskRows(env, plan)).get(plan.taskIds[0]!)!;
    expect(done.progress).toBe(1);
    // the first replica wakes up and goes on with the same task: it publishes every batch and the manifest again
    first.kill('SIGCONT');
    await env.waitFor('parser.0 to finish its copy', async () => env.logs.some((l) => l.app === 'parser.0' && l.line.includes('"msg":"parsed"')), 60_000);
    await sleep(3000);
    const info = await nats.jsm.consumers.info(parserStream, env.names.consumers.parser);
    expect(info.delivered.consumer_seq, 'the task was delivered again, to the second replica').toBeGreaterThanOrEqual(2);
    const report = await assertInvariants(env, plan);
    const row = (await taskRows(env, plan)).get(plan.taskIds[0]!)!;
    console.log(`[ragflow #18381] ${report.chunks} chunks, ${info.delivered.consumer_seq} deliveries of the task; ${took(t0)}`);
    expect(row.progress).toBe(1);
    expect(row.progress_msg.match(/Task done/g) ?? []).toHaveLength(1);
    // the late copy's "parsed" line and progress did not come back after the done line
    expect(row.progress_msg.trim().split('\n').pop()).toMatch(/Task done/);
    const [completions] = await sql(env, 'SELECT COUNT(*) AS n FROM ragline_task_completion WHERE task_id = ?', [plan.taskIds[0]]);
    expect(Number(completions!.n)).toBe(1);
  }, 300_000);
});

describe('RAGFlow #18942: a task re-enqueued inside the dedupe window is never swallowed', () => {
  let env: Environment;
  let nats: Awaited<ReturnType<typeof natsOf>>;

  beforeAll(async () => {
    // only the bridge runs at first: the task stays in the work stream where the test can lose it
    env = await createEnvironment({ MONITOR_SYNC_MS: '1000', STUCK_TASK_MS: '2000', STUCK_CHECK_MS: '500' });
    env.start('ingest-bridge');
    nats = await natsOf(env);
  });
  afterAll(async () => {
    await nats?.nc.close();
    await env?.cleanup();
  });

  /** Removes the task's message from the tasks stream (as a lost JetStream store would), keeping the dedupe window. */
  async function loseTaskMessages(): Promise<number> {
    const info = await nats.jsm.streams.info(env.names.streams.tasks);
    let removed = 0;
    for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
      if (await nats.jsm.streams.deleteMessage(env.names.streams.tasks, seq, false).catch(() => false)) removed++;
    }
    return removed;
  }

  async function tasksInStream(): Promise<number> {
    // -1 until the bridge has created the topology
    return (await nats.jsm.streams.info(env.names.streams.tasks).catch(() => null))?.state.messages ?? -1;
  }

  it('ragline recover and the monitor stuck-task pass re-enqueue a lost task, and the bridge hands it on again', async () => {
    const plan = await enqueueLoad(env, await mixedCorpus(2, 'dedupe-window'));
    await env.waitFor('both tasks in JetStream', async () => (await tasksInStream()) === 2);
    expect(await loseTaskMessages()).toBe(2);
    expect(await tasksInStream()).toBe(0);
    const [viaRecover, viaMonitor] = plan.taskIds as [string, string];
    // the CLI's recover, seconds later: well inside the 10-minute duplicate window of the first publish
    await sleep(1200);
    const cfg = loadConfig(CliEnv, env.env);
    const r = await recoverTasks(cfg, env, { olderThanMs: 1000 });
    expect(r.requeued.map((t) => t.id).sort()).toEqual([...plan.taskIds].sort());
    await env.waitFor('the re-enqueued tasks in JetStream again', async () => (await tasksInStream()) === 2, 20_000);
    const handed = env.logs.filter((l) => l.line.includes('"msg":"task handed to JetStream"'));
    expect(handed.filter((l) => l.line.includes(viaRecover))).toHaveLength(2);
    expect(env.logs.some((l) => l.line.includes('duplicate dropped by dedupe'))).toBe(false);

    // lost again, and this time the monitor's stuck-task pass finds it
    expect(await loseTaskMessages()).toBe(2);
    env.start('monitor');
    await env.waitFor('the monitor to re-enqueue them', async () => (await tasksInStream()) === 2, 30_000);
    expect(env.logs.filter((l) => l.line.includes('"msg":"task handed to JetStream"') && l.line.includes(viaMonitor))).toHaveLength(3);

    // and the rest of the pipeline finishes them
    for (const app of APPS) if (app !== 'ingest-bridge' && app !== 'monitor') env.start(app);
    await waitAllTasksEnded(env, plan, 120_000);
    const report = await assertInvariants(env, plan);
    expect(report.done).toBe(2);
  });
});

describe('RAGFlow #18942: heartbeats inside their deadline, checked at config load', () => {
  it('an app whose heartbeat is slower than a third of the worker timeout refuses to start, naming both keys', async () => {
    const env = await createEnvironment();
    try {
      const p = env.start('parser', 0, { HEARTBEAT_INTERVAL_MS: '60000', WORKER_TIMEOUT_MS: '120000' });
      const code = await new Promise<number | null>((r) => p.once('exit', (c) => r(c)));
      expect(code).not.toBe(0);
      const out = env.logs.filter((l) => l.app === 'parser.0').map((l) => l.line).join('\n');
      expect(out).toMatch(/HEARTBEAT_INTERVAL_MS/);
      expect(out).toMatch(/WORKER_TIMEOUT_MS/);
    } finally {
      await env.cleanup();
    }
  });
});

describe('RAGFlow #19074: kill -9 at each step boundary of the bridge and the parser', () => {
  let env: Environment;
  let sup: Supervised;
  let markers: string;
  let points: string[];

  beforeAll(async () => {
    markers = mkdtempSync(join(tmpdir(), 'ragline-kill-at-'));
    env = await createEnvironment({ NATS_ACK_WAIT_MS: '3000', BRIDGE_CLAIM_IDLE_MS: '3000', MONITOR_SYNC_MS: '1000', PARSER_BATCH_CHUNKS: '8' });
    const tail = (subject: string) => subject.slice(env.names.subjectPrefix.length + 1);
    points = [
      // bridge: the task received in MySQL (retry_count, "received"), not yet published
      'bridge.received',
      // bridge: published to JetStream, not yet XACKed in Redis
      `publish:${tail(env.names.subjects.tasks)}`,
      // parser: message taken, nothing done
      `consume:${tail(env.names.subjects.tasks)}`,
      // parser: the first chunk batch published, the rest not
      `publish:${tail(env.names.subjects.enrich)}`,
      // parser: every batch and the manifest published, progress and ack not
      `publish:${tail(env.names.subjects.manifest)}`,
      // parser: all done, the task message not acked
      `settle:${tail(env.names.subjects.tasks)}`,
    ];
    const spec = points.map((p, i) => `${p}@${join(markers, `point-${i}`)}`).join(',');
    sup = supervise(env, {}, { RAGLINE_FAULT_KILL_AT: spec });
  });
  afterAll(async () => {
    await sup?.stop();
    await env?.cleanup();
    rmSync(markers, { recursive: true, force: true });
  });

  it('every point fires once, each killed process is restarted, and every task still ends done with its chunks once', async () => {
    const t0 = Date.now();
    const plan = await enqueueLoad(env, await mixedCorpus(30, 'kill-at'), { spreadMs: 4000 });
    await waitAllTasksEnded(env, plan, 240_000);
    const report = await assertInvariants(env, plan);
    const fired = points.filter((_, i) => existsSync(join(markers, `point-${i}`)));
    const restarts = sup.events.filter((e) => /exited \(SIGKILL\); restarting/.test(e));
    console.log(`[ragflow #19074] ${plan.taskIds.length} tasks, ${report.chunks} chunks; fired ${fired.join(', ')}; ${restarts.length} restarts; ${took(t0)}`);
    expect(fired).toEqual(points);
    expect(restarts.filter((e) => e.startsWith('ingest-bridge'))).toHaveLength(2);
    expect(restarts.filter((e) => e.startsWith('parser'))).toHaveLength(4);
    expect(report.failed).toBe(0);
    expect(report.done).toBe(plan.taskIds.length);
  }, 300_000);
});

describe('RAGFlow #17708, re-parse and delete: the document actions on the running pipeline', () => {
  const run = supervisedPipeline({ MONITOR_SYNC_MS: '1000', NATS_ACK_WAIT_MS: '3000', PARSER_BATCH_CHUNKS: '4' });

  it('#17708: a stale cancel flag does not cancel the next parse of the same document', async () => {
    const plan = await enqueueLoad(run.env, await mixedCorpus(3, 'stale-cancel'), { enqueue: false });
    const d = plan.docs[0]!;
    const first = d.tasks[0]!;
    // RAGFlow's cancel (run action with run=2): the task's flag and the document's run state
    await cancelTask(run.env.redis, first.id);
    await sql(run.env, "UPDATE document SET run = '2' WHERE id = ?", [d.doc.id]);
    await enqueuePlan(run.env, plan);
    await waitAllTasksEnded(run.env, plan, 120_000);
    expect((await run.env.taskdb.getTask(first.id))!.progress).toBe(-1);

    const r = await reparseDocument(actions(run.env), d.doc.id);
    expect(r.queued).toHaveLength(1);
    expect(r.queued[0]).not.toBe(first.id);
    // the old flag is still there, and does not touch the new task
    expect(await run.env.redis.get(`${first.id}-cancel`)).toBeTruthy();
    const after = await reloadPlan(run.env, plan);
    await waitAllTasksEnded(run.env, after, 120_000);
    const report = await assertInvariants(run.env, after);
    expect(report.failed).toBe(0);

    // the cancelled task's own id queued again (its row went with the re-parse, as RAGFlow's does) is
    // dropped and writes nothing: the document keeps exactly the new parse's chunks
    await run.env.producer.enqueue(run.env.queues[0]!, { ...first });
    await sleep(3000);
    expect(await run.env.taskdb.getTask(first.id)).toBeNull();
    await assertInvariants(run.env, after);
  });

  it('re-parse unchanged reuses every task without parsing or embedding; changed, it leaves exactly the new chunks; counters exact', async () => {
    const plan = await enqueueLoad(run.env, await mixedCorpus(6, 'reparse'));
    await waitAllTasksEnded(run.env, plan, 120_000);
    await assertInvariants(run.env, plan);
    const before = await workConsumers(run.env, run.nats.jsm);

    // unchanged: RAGFlow's reuse_prev_task_chunks takes every task over
    for (const d of plan.docs) {
      const r = await reparseDocument(actions(run.env), d.doc.id);
      expect(r.queued, d.name).toEqual([]);
      expect(r.reused.length, d.name).toBe(d.tasks.length);
      expect(r.removedChunks).toBe(0);
    }
    const reused = await reloadPlan(run.env, plan);
    await waitAllTasksEnded(run.env, reused, 30_000);
    await assertInvariants(run.env, reused);
    await sleep(2000);
    const idle = await workConsumers(run.env, run.nats.jsm);
    for (const [name, c] of idle) expect(c.delivered, `${name}: nothing parsed or embedded again`).toBe(before.get(name)!.delivered);

    // changed parser config (smaller chunks): new tasks, none of the old chunks left, none twice
    const changed = { ...LOAD_PARSER_CONFIG, chunk_token_num: 48 };
    for (const d of plan.docs) await sql(run.env, 'UPDATE document SET parser_config = ? WHERE id = ?', [JSON.stringify(changed), d.doc.id]);
    const oldIds = new Map<string, string[]>();
    for (const d of plan.docs) oldIds.set(d.doc.id, await expectedTaskChunkIds(d, d.tasks[0]!, { ...LOAD_PARSER_CONFIG, ...d.doc.parser_config }));
    for (const d of plan.docs) {
      const r = await reparseDocument(actions(run.env), d.doc.id);
      expect(r.reused, d.name).toEqual([]);
      expect(r.queued.length).toBeGreaterThan(0);
    }
    const reparsed = await reloadPlan(run.env, plan);
    await waitAllTasksEnded(run.env, reparsed, 120_000);
    // the invariants compare the store with the new config's chunks: any old chunk left is counted
    const report = await assertInvariants(run.env, reparsed);
    expect(report.failed).toBe(0);
    const store = run.env.docstore();
    let changedChunks = 0;
    try {
      for (const d of reparsed.docs) {
        const fresh = new Set(await expectedTaskChunkIds(d, d.tasks[0]!, { ...LOAD_PARSER_CONFIG, ...d.doc.parser_config }));
        const gone = oldIds.get(d.doc.id)!.filter((id) => !fresh.has(id));
        changedChunks += gone.length;
        expect(await store.get(d.tenantId, gone), `${d.name}: old chunks left`).toHaveLength(0);
      }
    } finally {
      await store.close();
    }
    expect(changedChunks, 'the new config changes chunks').toBeGreaterThan(0);
  });

  it('a document deleted while its tasks run leaves no chunks, and the knowledge base counts only the rest', async () => {
    const plan = await enqueueLoad(run.env, await mixedCorpus(40, 'delete-mid'), { enqueue: false });
    const big = plan.docs.filter((d) => d.data.byteLength > 50_000).sort((a, b) => b.data.byteLength - a.data.byteLength)[0] ?? plan.docs[0]!;
    await enqueuePlan(run.env, plan);
    const store = run.env.docstore();
    try {
      await run.env.waitFor('the document being indexed', async () => (await store.count(big.tenantId, { doc_id: big.doc.id })) > 0, { timeoutMs: 120_000, everyMs: 20 });
      const running = await run.env.taskdb.getTask(big.tasks[0]!.id);
      const r = await deleteDocument(actions(run.env), big.doc.id);
      expect(running!.progress, 'deleted while its task ran').toBeLessThan(1);
      expect(r.cancelledTasks).toBe(big.tasks.length);
      const rest: LoadPlan = { docs: plan.docs.filter((d) => d !== big), taskIds: plan.docs.filter((d) => d !== big).flatMap((d) => d.tasks.map((t) => t.id)) };
      await waitAllTasksEnded(run.env, rest, 180_000);
      // everything in flight for it has drained (the invariants wait for every consumer to be empty)
      await assertInvariants(run.env, rest);
      await sleep(3000);
      expect(await store.count(big.tenantId, { doc_id: big.doc.id })).toBe(0);
      expect(await run.env.taskdb.getDocument(big.doc.id)).toBeNull();
      const kb = (await run.env.taskdb.getKnowledgebase(big.kbId))!;
      expect(kb.doc_num).toBe(rest.docs.length);
    } finally {
      await store.close();
    }
  });
});
