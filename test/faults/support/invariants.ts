import { setTimeout as sleep } from 'node:timers/promises';
import { connectNats, consumerConfigs, consumerLag } from '@ragline/bus';
import { jetstreamManager } from '@nats-io/jetstream';
import type { DocStore } from '@ragline/docstore';
import { buildChunks, chunkDocument, initHashing, parseDocument } from '@ragline/parsing';
import { RAGFLOW_CONSUMER_GROUP, queueStats } from '@ragline/redis-queue';
import { createPool, type Pool, type RowDataPacket } from 'mysql2/promise';
import type { Environment } from '../../support/pipeline.js';
import type { LoadPlan, LoadPlanDoc } from './load.js';

export interface TaskRow {
  id: string;
  doc_id: string;
  progress: number;
  progress_msg: string;
  chunk_ids: string;
}

/** A MySQL pool on the environment's database for one call; the taskdb API reads one row at a time. */
async function withDb<T>(env: Environment, fn: (db: Pool) => Promise<T>): Promise<T> {
  const db = createPool({ uri: env.env.MYSQL_URL, connectionLimit: 2 });
  try {
    return await fn(db);
  } finally {
    await db.end();
  }
}

function parts<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

async function selectTasks(db: Pool, ids: readonly string[]): Promise<Map<string, TaskRow>> {
  const out = new Map<string, TaskRow>();
  for (const part of parts(ids, 500)) {
    const [rows] = await db.query<RowDataPacket[]>('SELECT id, doc_id, progress, progress_msg, chunk_ids FROM task WHERE id IN (?)', [part]);
    for (const r of rows) {
      out.set(String(r.id), {
        id: String(r.id),
        doc_id: String(r.doc_id),
        progress: Number(r.progress),
        progress_msg: String(r.progress_msg ?? ''),
        chunk_ids: String(r.chunk_ids ?? ''),
      });
    }
  }
  return out;
}

/** The task rows of the plan, by id. */
export function taskRows(env: Environment, plan: LoadPlan): Promise<Map<string, TaskRow>> {
  return withDb(env, (db) => selectTasks(db, plan.taskIds));
}

const ended = (t: TaskRow | undefined) => !!t && (t.progress >= 1 || t.progress === -1);

/** Counts of the plan's tasks: ended (done or failed), done, failed. */
export async function taskCounts(env: Environment, plan: LoadPlan): Promise<{ total: number; ended: number; done: number; failed: number }> {
  const rows = await taskRows(env, plan);
  let done = 0;
  let failed = 0;
  for (const t of rows.values()) {
    if (t.progress >= 1) done++;
    else if (t.progress === -1) failed++;
  }
  return { total: plan.taskIds.length, ended: done + failed, done, failed };
}

async function pollTasks(
  env: Environment,
  plan: LoadPlan,
  what: string,
  timeoutMs: number,
  enough: (c: Awaited<ReturnType<typeof taskCounts>>) => boolean,
): Promise<Awaited<ReturnType<typeof taskCounts>>> {
  const end = Date.now() + timeoutMs;
  let last = await taskCounts(env, plan);
  while (!enough(last)) {
    if (Date.now() > end) {
      const tail = env.logs.slice(-30).map((l) => `[${l.app}] ${l.line}`).join('\n');
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}: ${JSON.stringify(last)}\n--- last log lines ---\n${tail}`);
    }
    await sleep(300);
    last = await taskCounts(env, plan);
  }
  return last;
}

/** Waits until every task of the plan is done (progress 1) or failed (progress -1). */
export async function waitAllTasksEnded(env: Environment, plan: LoadPlan, timeoutMs = 300_000): Promise<void> {
  await pollTasks(env, plan, 'every task to end', timeoutMs, (c) => c.ended === c.total);
}

/**
 * Waits until at least `min` tasks ended (a count, or a share of the plan when below 1): the moment
 * to inject a fault "in the middle". Returns the counts; the caller checks that not all ended.
 */
export async function waitSomeTasksEnded(env: Environment, plan: LoadPlan, min: number, timeoutMs = 180_000) {
  const want = min < 1 ? Math.max(1, Math.floor(plan.taskIds.length * min)) : min;
  return pollTasks(env, plan, `${want} tasks to end`, timeoutMs, (c) => c.ended >= want);
}

/**
 * The chunk ids a task must leave in the store, computed here, in this process, with the same
 * parsing and chunking code and the task's own page range and parser config: ids are
 * xxh64(text + doc id), so they do not depend on anything the pipeline did.
 */
export async function expectedTaskChunkIds(
  d: LoadPlanDoc,
  task: { from_page: number; to_page: number },
  parserConfig: Record<string, unknown>,
): Promise<string[]> {
  await initHashing();
  const parsed = await parseDocument({
    name: d.name,
    data: new Uint8Array(d.data),
    parserId: d.doc.parser_id,
    parserConfig,
    fromPage: task.from_page,
    toPage: task.to_page,
  });
  const merged = chunkDocument(parsed, parserConfig);
  return buildChunks({ doc_id: d.doc.id, kb_id: d.kbId, doc_name: d.name, parser_config: parserConfig }, merged).map((c) => c.id);
}

export interface Report {
  tasks: number;
  done: number;
  failed: number;
  documents: number;
  docsDone: number;
  docsFailed: number;
  /** chunks of the plan's documents found in the doc store */
  chunks: number;
  /** every failed task with its last progress line */
  failures: { taskId: string; docId: string; name: string; msg: string }[];
  /** chunks still stored per document that has a failed task */
  failedDocChunks: Map<string, number>;
  /** how long the checks took to pass (state settling after the last task ended) */
  settleMs: number;
  /** problems seen on the first pass that later cleared (e.g. a batch event landing after completion) */
  transient: string[];
}

export interface InvariantOptions {
  /** failed tasks allowed: false (default) none, true any number, or at most this many */
  allowFailed?: boolean | number;
  /** how long the checks may take to pass after every task ended; default 30 s */
  settleMs?: number;
  /** the doc store to check; default the environment's LanceDB store */
  docstore?: DocStore;
}

const FAILURE_REASON = /fail|error|cancel|abandon|timed? ?out|not found|invalid|too large|empty/i;

function lastLine(msg: string): string {
  const lines = msg.trim().split('\n');
  return lines[lines.length - 1] ?? '';
}

interface Expected {
  /** chunk ids per task id; null when the document cannot be parsed here */
  byTask: Map<string, string[] | null>;
  /** union of the document's task chunk ids */
  byDoc: Map<string, Set<string>>;
}

async function computeExpected(env: Environment, plan: LoadPlan): Promise<Expected> {
  const kbConfig = new Map<string, Record<string, unknown>>();
  const byTask = new Map<string, string[] | null>();
  const byDoc = new Map<string, Set<string>>();
  for (const d of plan.docs) {
    if (!kbConfig.has(d.kbId)) kbConfig.set(d.kbId, (await env.taskdb.getKnowledgebase(d.kbId))?.parser_config ?? {});
    // what the bridge hands the parser: the knowledge base's config overridden by the document's
    const config = { ...kbConfig.get(d.kbId), ...d.doc.parser_config };
    const all = new Set<string>();
    for (const t of d.tasks) {
      const ids = await expectedTaskChunkIds(d, t, config).catch(() => null);
      byTask.set(t.id, ids);
      for (const id of ids ?? []) all.add(id);
    }
    byDoc.set(d.doc.id, all);
  }
  return { byTask, byDoc };
}

async function check(env: Environment, plan: LoadPlan, expected: Expected, docstore: DocStore, opts: InvariantOptions): Promise<{ problems: string[]; report: Omit<Report, 'settleMs' | 'transient'> }> {
  const problems: string[] = [];
  const say = (s: string) => problems.push(s);
  const { tasks, docs, kbs, kbSums } = await withDb(env, async (db) => {
    const tasks = await selectTasks(db, plan.taskIds);
    const docIds = plan.docs.map((d) => d.doc.id);
    const docs = new Map<string, RowDataPacket>();
    for (const part of parts(docIds, 500)) {
      const [rows] = await db.query<RowDataPacket[]>('SELECT id, kb_id, run, progress, progress_msg, chunk_num, token_num FROM document WHERE id IN (?)', [part]);
      for (const r of rows) docs.set(String(r.id), r);
    }
    const kbIds = [...new Set(plan.docs.map((d) => d.kbId))];
    const [kbRows] = await db.query<RowDataPacket[]>('SELECT id, chunk_num, token_num FROM knowledgebase WHERE id IN (?)', [kbIds]);
    const [sumRows] = await db.query<RowDataPacket[]>(
      'SELECT kb_id, SUM(chunk_num) AS chunks, SUM(token_num) AS tokens, MIN(chunk_num) AS min_chunks, MIN(token_num) AS min_tokens FROM document WHERE kb_id IN (?) GROUP BY kb_id',
      [kbIds],
    );
    return { tasks, docs, kbs: kbRows, kbSums: new Map(sumRows.map((r) => [String(r.kb_id), r])) };
  });

  // tasks: ended, failures explained, done tasks hold exactly their expected chunk ids
  let done = 0;
  let failed = 0;
  const failures: Report['failures'] = [];
  const failedDocs = new Set<string>();
  for (const d of plan.docs) {
    for (const t of d.tasks) {
      const row = tasks.get(t.id);
      if (!row) {
        say(`task ${t.id} (${d.name}) missing from MySQL`);
        continue;
      }
      if (row.progress === -1) {
        failed++;
        failedDocs.add(d.doc.id);
        failures.push({ taskId: t.id, docId: d.doc.id, name: d.name, msg: lastLine(row.progress_msg) });
        if (!FAILURE_REASON.test(row.progress_msg)) say(`task ${t.id} (${d.name}) failed without a reason: ${JSON.stringify(row.progress_msg.slice(-200))}`);
        continue;
      }
      if (row.progress < 1) {
        say(`task ${t.id} (${d.name}) not ended: progress ${row.progress}, ${JSON.stringify(lastLine(row.progress_msg))}`);
        continue;
      }
      done++;
      const ids = row.chunk_ids.split(' ').filter(Boolean);
      if (new Set(ids).size !== ids.length) say(`task ${t.id} (${d.name}) chunk_ids has duplicates (${ids.length} ids, ${new Set(ids).size} distinct)`);
      const want = expected.byTask.get(t.id);
      if (!want) say(`task ${t.id} (${d.name}) is done but the document does not parse in-process`);
      else if (!sameSet(ids, want)) say(`task ${t.id} (${d.name}) chunk_ids: ${ids.length} ids, expected ${want.length} (${diff(ids, want)})`);
    }
  }
  const maxFailed = opts.allowFailed === true ? Infinity : typeof opts.allowFailed === 'number' ? opts.allowFailed : 0;
  if (failed > maxFailed) say(`${failed} tasks failed (allowed ${maxFailed}): ${failures.slice(0, 5).map((f) => `${f.name}: ${f.msg}`).join(' | ')}`);

  // documents: state and counts agree with their tasks
  let docsDone = 0;
  for (const d of plan.docs) {
    const row = docs.get(d.doc.id);
    if (!row) {
      say(`document ${d.doc.id} (${d.name}) missing from MySQL`);
      continue;
    }
    const rows = d.tasks.map((t) => tasks.get(t.id));
    const doneChunks = rows.reduce((s, t) => s + (t && t.progress >= 1 ? t.chunk_ids.split(' ').filter(Boolean).length : 0), 0);
    if (Number(row.chunk_num) !== doneChunks) say(`document ${d.name}: chunk_num ${row.chunk_num}, its done tasks hold ${doneChunks} chunk ids`);
    if (Number(row.token_num) < 0) say(`document ${d.name}: token_num ${row.token_num} < 0`);
    if (!rows.every(ended)) continue;
    if (failedDocs.has(d.doc.id)) {
      if (row.run !== '4' && row.run !== '2') say(`document ${d.name} has a failed task but run ${row.run} (want 4, or 2 when cancelled)`);
      if (row.run === '4' && Number(row.progress) !== -1) say(`document ${d.name} failed with progress ${row.progress} (want -1)`);
    } else {
      docsDone++;
      if (row.run !== '3' || Number(row.progress) !== 1) say(`document ${d.name}: run ${row.run} progress ${row.progress} (want 3 and 1)`);
      const want = expected.byDoc.get(d.doc.id)!.size;
      if (Number(row.chunk_num) !== want) say(`document ${d.name}: chunk_num ${row.chunk_num}, expected ${want} chunks`);
    }
  }

  // knowledge bases: counts are the sums over their documents
  for (const k of kbs) {
    const sum = kbSums.get(String(k.id));
    const chunks = Number(sum?.chunks ?? 0);
    const tokens = Number(sum?.tokens ?? 0);
    if (Number(k.chunk_num) !== chunks) say(`knowledgebase ${k.id}: chunk_num ${k.chunk_num}, its documents sum to ${chunks}`);
    if (Number(k.token_num) !== tokens) say(`knowledgebase ${k.id}: token_num ${k.token_num}, its documents sum to ${tokens}`);
    if (Number(k.token_num) < 0 || Number(sum?.min_tokens ?? 0) < 0 || Number(sum?.min_chunks ?? 0) < 0) say(`knowledgebase ${k.id}: negative counts`);
  }

  // doc store: each expected chunk exactly once, nothing else
  let chunks = 0;
  const failedDocChunks = new Map<string, number>();
  const byTenant = new Map<string, LoadPlanDoc[]>();
  for (const d of plan.docs) byTenant.set(d.tenantId, [...(byTenant.get(d.tenantId) ?? []), d]);
  for (const [tenantId, list] of byTenant) {
    if (docstore.kind === 'elasticsearch') await docstore.refresh(tenantId);
    const wanted = list.flatMap((d) => [...expected.byDoc.get(d.doc.id)!]);
    const found = new Map<string, string>();
    for (const part of parts(wanted, 500)) {
      for (const c of await docstore.get(tenantId, part)) found.set(c.id, c.doc_id);
    }
    for (const d of list) {
      const want = expected.byDoc.get(d.doc.id)!;
      let here = 0;
      for (const id of want) {
        const owner = found.get(id);
        if (owner === undefined) continue;
        here++;
        if (owner !== d.doc.id) say(`chunk ${id} of ${d.name} stored under document ${owner}`);
      }
      chunks += here;
      if (failedDocs.has(d.doc.id)) {
        failedDocChunks.set(d.doc.id, here);
        continue;
      }
      const rows = d.tasks.map((t) => tasks.get(t.id));
      if (rows.every((t) => t && t.progress >= 1) && here !== want.size) say(`document ${d.name}: ${here} of its ${want.size} expected chunks in the store`);
    }
    // the store's own count catches duplicates and chunks nobody expects (the lookup above is by id)
    for (const kbId of new Set(list.map((d) => d.kbId))) {
      const docsOfKb = list.filter((d) => d.kbId === kbId);
      const expectedHere = docsOfKb.reduce((s, d) => s + [...expected.byDoc.get(d.doc.id)!].filter((id) => found.has(id)).length, 0);
      const stored = await docstore.count(tenantId, { kb_id: kbId });
      if (stored !== expectedHere) {
        // narrow it down to documents for the message
        const off: string[] = [];
        for (const d of docsOfKb) {
          const n = await docstore.count(tenantId, { doc_id: d.doc.id });
          const ok = [...expected.byDoc.get(d.doc.id)!].filter((id) => found.has(id)).length;
          if (n !== ok) off.push(`${d.name}: ${n} rows for ${ok} distinct expected chunks`);
        }
        say(`doc store kb ${kbId}: ${stored} rows, ${expectedHere} distinct expected chunks found; ${off.slice(0, 10).join('; ') || 'rows of documents outside the plan'}`);
      }
    }
  }

  // Redis: nothing left pending or unread in the bridge's group
  for (const q of env.queues) {
    const s = await queueStats(env.redis, q, RAGFLOW_CONSUMER_GROUP);
    if (s.pending !== 0) say(`redis ${q}: ${s.pending} entries pending in ${RAGFLOW_CONSUMER_GROUP}`);
    if (s.lag !== null && s.lag !== 0) say(`redis ${q}: ${s.lag} entries never read`);
  }

  // JetStream: every durable of the topology drained, work streams empty
  const nc = await connectNats({
    url: env.env.NATS_URL,
    user: env.env.NATS_USER,
    password: env.env.NATS_PASSWORD,
    tls: env.env.NATS_TLS_CA ? { ca: env.env.NATS_TLS_CA } : undefined,
  });
  try {
    const jsm = await jetstreamManager(nc);
    for (const { stream, config } of consumerConfigs(env.names)) {
      const lag = await consumerLag(jsm, stream, config.durable_name!);
      if (lag.pending !== 0 || lag.ackPending !== 0) say(`jetstream ${stream}/${lag.consumer}: ${lag.pending} pending, ${lag.ackPending} unacked`);
      if (stream !== env.names.streams.dlq && lag.streamMessages !== 0) say(`jetstream ${stream}: ${lag.streamMessages} messages left in a work stream`);
    }
  } finally {
    await nc.close();
  }

  return {
    problems,
    report: {
      tasks: plan.taskIds.length,
      done,
      failed,
      documents: plan.docs.length,
      docsDone,
      docsFailed: failedDocs.size,
      chunks,
      failures,
      failedDocChunks,
    },
  };
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const s = new Set(b);
  return a.every((x) => s.has(x));
}

function diff(got: readonly string[], want: readonly string[]): string {
  const g = new Set(got);
  const w = new Set(want);
  const missing = want.filter((x) => !g.has(x)).length;
  const extra = got.filter((x) => !w.has(x)).length;
  return `${missing} missing, ${extra} unexpected`;
}

/**
 * Checks what the reliability issue demands once every task of the load ended: each task done
 * (progress 1) or failed (-1) with a reason; each expected chunk (computed independently here) in
 * the doc store exactly once and nothing else; nothing pending in the Redis queues or any JetStream
 * consumer; MySQL counts of tasks, documents and knowledge bases agreeing with each other. The
 * checks are repeated for up to `settleMs` while state settles (a completion can reach MySQL a
 * moment before the last batch event), and what cleared is returned in `transient`.
 */
export async function assertInvariants(env: Environment, plan: LoadPlan, opts: InvariantOptions = {}): Promise<Report> {
  const started = Date.now();
  const expected = await computeExpected(env, plan);
  const docstore = opts.docstore ?? env.docstore();
  try {
    const deadline = Date.now() + (opts.settleMs ?? 30_000);
    let first: string[] | undefined;
    for (;;) {
      const { problems, report } = await check(env, plan, expected, docstore, opts);
      first ??= problems;
      if (problems.length === 0) return { ...report, settleMs: Date.now() - started, transient: first };
      if (Date.now() > deadline) {
        throw new Error(`invariants violated (${problems.length}):\n  ${problems.slice(0, 40).join('\n  ')}`);
      }
      await sleep(1000);
    }
  } finally {
    if (!opts.docstore) await docstore.close();
  }
}
