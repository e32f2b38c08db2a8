import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BatchItem } from '@ragline/bus';
import { TaskMessage, type DeadLetter, type PipelineEvent } from '@ragline/contracts';
import { listen, createMetricsRegistry } from '@ragline/service';
import type { KnowledgebaseRow, TaskDb } from '@ragline/taskdb';
import { dropDatabase } from '@ragline/taskdb/testing';
import { ROOT_CONTEXT } from '@ragline/telemetry';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  StageSampler,
  TaskInfoStore,
  createDeadLetterHandler,
  createMonitorMetrics,
  createMonitorServer,
  createProgressWriter,
  grafanaTraceUrl,
  traceIdOf,
  type MonitorServerDeps,
} from '../src/index.js';
import { EMBD_ID, logger, openStageWorld, openTaskDb, seedDocumentTask, type StageWorld } from './support/stage-env.js';

let w: StageWorld;
let taskdb: TaskDb;
let kb: KnowledgebaseRow;
let dashboardDir: string;
const servers: Server[] = [];
const registry = createMetricsRegistry({ stage: 'monitor', worker: 'test' });
const metrics = createMonitorMetrics(registry);
const TOKEN = 'a-monitor-token-of-32-characters';
const GRAFANA = 'http://grafana.example:3000/';

beforeAll(async () => {
  w = await openStageWorld();
  taskdb = await openTaskDb();
  const tenantId = await taskdb.ensureTenant({ name: 'api', embdId: EMBD_ID });
  kb = await taskdb.ensureKnowledgebase({ name: 'kb', tenantId, embdId: EMBD_ID });
  dashboardDir = await mkdtemp(join(tmpdir(), 'ragline-dash-'));
  await mkdir(join(dashboardDir, 'assets'));
  await writeFile(join(dashboardDir, 'index.html'), '<!doctype html><title>Ragline monitor</title>');
  await writeFile(join(dashboardDir, 'assets', 'app.js'), 'console.log(1)');
});
afterAll(async () => {
  for (const s of servers) s.close();
  await w?.cleanup();
  if (taskdb) await dropDatabase(taskdb);
  await taskdb?.close();
  await rm(dashboardDir, { recursive: true, force: true });
});

const trace = (n: number) => `00-${String(n).padStart(32, 'a')}-${'b'.repeat(16)}-01`;
function items<T>(msgs: T[], traceparent?: string): BatchItem<T>[] {
  return msgs.map((msg, i) => ({ msg, subject: 't', streamSeq: i + 1, headers: traceparent ? { traceparent: [traceparent] } : {}, traceContext: ROOT_CONTEXT }) as BatchItem<T>);
}

async function finishTask(durationMs: number, traceNo: number, parseAt: number) {
  const { doc, taskId } = await seedDocumentTask(taskdb, kb.id);
  const base = { v: 1 as const, task_id: taskId, doc_id: doc.id };
  const events: PipelineEvent[] = [
    { ...base, kind: 'progress', at: parseAt, stage: 'parser', progress: 0.1, msg: 'Start to parse.', page_range: null },
    { ...base, kind: 'progress', at: parseAt + 400, stage: 'parser', progress: 0.3, msg: 'Finish parsing.', page_range: null },
    { ...base, kind: 'batch_indexed', kb_id: kb.id, at: parseAt + 900, batch_no: 0, chunk_ids: ['0123456789abcdef'], tokens: 5, indexed_batches: 1, total_batches: 1 },
    { ...base, kind: 'completed', kb_id: kb.id, at: parseAt + 1000, chunks: 1, tokens: 5, batches: 1, duration_ms: durationMs },
  ];
  await createProgressWriter({ taskdb, logger, info: new TaskInfoStore(w.redis), metrics })(items(events, trace(traceNo)));
  return { taskId, docId: doc.id };
}

async function serve(overrides: Partial<MonitorServerDeps> = {}): Promise<string> {
  const server = createMonitorServer({
    taskdb,
    redis: w.redis,
    jsm: w.jsm,
    names: w.names,
    queues: [],
    registry,
    info: new TaskInfoStore(w.redis),
    grafanaUrl: GRAFANA,
    ...overrides,
  });
  servers.push(server);
  return `http://127.0.0.1:${await listen(server, 0, '127.0.0.1')}`;
}

describe('monitor API: task details, slowest, failures', () => {
  let fast: { taskId: string };
  let slow: { taskId: string };
  let failed: { taskId: string };

  beforeAll(async () => {
    fast = await finishTask(1200, 1, Date.now() - 5000);
    slow = await finishTask(9500, 2, Date.now() - 3000);
    const f = await seedDocumentTask(taskdb, kb.id);
    failed = { taskId: f.taskId };
    const dl: DeadLetter = {
      v: 1,
      kind: 'dead_letter',
      stage: 'embedder',
      subject: 'x.chunks.embed',
      stream_seq: 3,
      deliveries: 5,
      error: { name: 'EmbeddingError', message: 'embedding server answered 503', retryable: true },
      task_id: f.taskId,
      doc_id: f.doc.id,
      data_b64: '',
      headers: { traceparent: [trace(3)] },
      at: Date.now(),
    };
    await createDeadLetterHandler({ taskdb, logger, info: new TaskInfoStore(w.redis), metrics })(items([dl]));
  });

  it('shows a task with its stages, timings, trace id and Grafana link', async () => {
    const base = await serve();
    const res = await fetch(`${base}/api/tasks/${slow.taskId}`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { task: { progress: number }; stages: { stage: string; duration_ms: number }[]; trace_id: string; trace_url: string };
    expect(body.task.progress).toBe(1);
    expect(body.stages).toEqual([
      expect.objectContaining({ stage: 'parser', duration_ms: 400 }),
      expect.objectContaining({ stage: 'indexer', duration_ms: 100 }),
    ]);
    expect(body.trace_id).toBe(traceIdOf(trace(2)));
    expect(body.trace_url).toBe(grafanaTraceUrl(GRAFANA, body.trace_id));
    expect(body.trace_url).toMatch(/^http:\/\/grafana\.example:3000\/explore\?/);
    expect(decodeURIComponent(body.trace_url)).toContain(body.trace_id);

    const noGrafana = await serve({ grafanaUrl: undefined });
    const plain = (await (await fetch(`${noGrafana}/api/tasks/${slow.taskId}`)).json()) as { trace_id: string; trace_url: string | null };
    expect(plain).toMatchObject({ trace_id: traceIdOf(trace(2)), trace_url: null });
  });

  it('ranks the slowest finished tasks and shows failed ones with stage and error', async () => {
    const base = await serve();
    const { tasks } = (await (await fetch(`${base}/api/tasks?slowest=2&kb=${kb.id}`)).json()) as { tasks: { id: string; process_duration: number }[] };
    expect(tasks.map((t) => t.id)).toEqual([slow.taskId, fast.taskId]);
    expect(tasks[0]!.process_duration).toBeCloseTo(9.5, 3);

    const f = (await (await fetch(`${base}/api/tasks?state=failed`)).json()) as { tasks: { id: string; error: string; trace_id: string }[] };
    expect(f.tasks).toEqual([expect.objectContaining({ id: failed.taskId, error: 'embedder: embedding server answered 503', trace_id: traceIdOf(trace(3)) })]);
    const detail = (await (await fetch(`${base}/api/tasks/${failed.taskId}`)).json()) as { error: { stage: string } };
    expect(detail.error).toEqual({ stage: 'embedder', message: 'embedding server answered 503' });
  });

  it('exports Prometheus metrics: completions, latency histogram, failures, stage gauges', async () => {
    const sampler = new StageSampler({ jsm: w.jsm, names: w.names, redis: w.redis, queues: [] }, { metrics });
    await sampler.sample();
    const base = await serve({ sampler });
    const text = await (await fetch(`${base}/metrics`)).text();
    expect(text).toMatch(/ragline_tasks_completed_total\{[^}]*\} 2/);
    expect(text).toMatch(/ragline_task_duration_seconds_bucket\{[^}]*le="10"[^}]*\} 2/);
    expect(text).toMatch(/ragline_task_duration_seconds_bucket\{[^}]*le="2"[^}]*\} 1/);
    expect(text).toMatch(/ragline_task_failures_total\{[^}]*stage="embedder"[^}]*reason="dead_letter"[^}]*\} 1/);
    expect(text).toMatch(/ragline_stage_pending\{[^}]*stage="parser"[^}]*\} 0/);
    expect(text).toMatch(/ragline_monitor_events_total\{[^}]*kind="completed"[^}]*\} 2/);
  });
});

describe('monitor API: stage history and throughput', () => {
  it('samples lag and throughput over time', async () => {
    const sampler = new StageSampler({ jsm: w.jsm, names: w.names, redis: w.redis, queues: [] }, { keep: 3 });
    for (let i = 0; i < 4; i++) {
      const task = w.task(`t${i}.txt`);
      await w.publisher.publish(w.names.subjects.tasks, TaskMessage, w.taskMessage(task), { msgID: `task.${task.task_id}`, taskId: task.task_id });
    }
    const first = await sampler.sample();
    expect(first.stages.parser).toMatchObject({ pending: 4, throughput: 0 });
    await w.read(w.names.streams.tasks, w.names.consumers.parser, TaskMessage);
    const second = await sampler.sample();
    expect(second.stages.parser!.pending).toBe(0);
    expect(second.stages.parser!.throughput).toBeGreaterThan(0);
    await sampler.sample();
    await sampler.sample();
    expect(sampler.history).toHaveLength(3);

    const base = await serve({ sampler });
    const body = (await (await fetch(`${base}/api/stages`)).json()) as { stages: { stage: string; processed: number }[]; history: unknown[] };
    expect(body.history).toHaveLength(3);
    expect(body.stages.find((s) => s.stage === 'parser')!.processed).toBeGreaterThanOrEqual(4);
    const overview = (await (await fetch(`${base}/api/overview`)).json()) as Record<string, unknown>;
    expect(Object.keys(overview)).toEqual(expect.arrayContaining(['workers', 'stages', 'queues', 'history', 'failed', 'slowest', 'recent']));
  });
});

describe('monitor dashboard and token', () => {
  it('serves the page with the token (header or ?token=), the bundle publicly, and nothing outside its folder', async () => {
    const base = await serve({ token: TOKEN, dashboardDir });
    const denied = await fetch(`${base}/`);
    expect(denied.status).toBe(401);
    expect(await denied.text()).toContain('needs its access token');
    expect((await fetch(`${base}/?token=wrong-token-wrong-token-wrong-tok`)).status).toBe(401);
    const page = await fetch(`${base}/?token=${TOKEN}`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(await page.text()).toContain('Ragline monitor');
    expect((await fetch(`${base}/`, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
    const js = await fetch(`${base}/assets/app.js`);
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toMatch(/javascript/);
    expect((await fetch(`${base}/assets/..%2f..%2fetc%2fpasswd`)).status).toBe(404);
    expect((await fetch(`${base}/assets/missing.js`)).status).toBe(404);
    // the query token opens the page only, never the API
    expect((await fetch(`${base}/api/overview?token=${TOKEN}`)).status).toBe(401);
    expect((await fetch(`${base}/api/overview`, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
    expect((await fetch(`${base}/metrics`)).status).toBe(401);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
  });
});
