import { timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { extname, join, resolve, sep } from 'node:path';
import type { JetStreamManager } from '@ragline/bus';
import type { TopologyNames } from '@ragline/contracts';
import { listWorkers } from '@ragline/redis-queue';
import { healthHandler, type ReadinessCheck } from '@ragline/service';
import type { TaskDb, TaskSummary } from '@ragline/taskdb';
import type { Redis } from 'ioredis';
import type { Registry } from 'prom-client';
import { stageStats, type StageSampler } from './sampler.js';
import type { TaskInfo, TaskInfoStore } from './task-info.js';

export { stageStats } from './sampler.js';

export interface MonitorServerDeps {
  taskdb: Pick<TaskDb, 'listTasks' | 'getTask'>;
  redis: Redis;
  jsm: JetStreamManager;
  names: TopologyNames;
  /** RAGFlow streams the bridge reads, for queue depth */
  queues: string[];
  registry?: Registry;
  /** when set, /api, /metrics and the page require `Authorization: Bearer <token>` (the page also accepts `?token=`) */
  token?: string;
  checks?: Record<string, ReadinessCheck>;
  /** Grafana base URL; task details then link to the trace in Grafana's Explore (Tempo) */
  grafanaUrl?: string;
  /** uid of Grafana's Tempo data source; default 'tempo' */
  grafanaTempoUid?: string;
  /** trace ids, stage timings and failing stages recorded by the monitor */
  info?: Pick<TaskInfoStore, 'get' | 'getMany'>;
  /** stage history for throughput over time; without it /api/stages has no history */
  sampler?: Pick<StageSampler, 'history'>;
  /** a worker silent this long shows as not alive; default 120000 */
  workerTimeoutMs?: number;
  /** built dashboard (packages/dashboard/dist): served at / and /assets/ when set */
  dashboardDir?: string;
}

const STATES = new Set(['running', 'done', 'failed', 'queued']);
type TaskState = 'running' | 'done' | 'failed' | 'queued';

/** Most recent tasks looked at when ranking the slowest (listTasks orders by last update). */
const SLOWEST_WINDOW = 1000;

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
};

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(body));
}

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

function authorized(req: IncomingMessage, token: string | undefined, queryToken?: string | null): boolean {
  if (!token) return true;
  if (sameSecret(String(req.headers.authorization ?? ''), `Bearer ${token}`)) return true;
  return queryToken !== undefined && queryToken !== null && sameSecret(queryToken, token);
}

/** Grafana Explore URL showing one trace from the Tempo data source. */
export function grafanaTraceUrl(grafanaUrl: string, traceId: string, datasourceUid = 'tempo'): string {
  const panes = {
    trace: {
      datasource: datasourceUid,
      queries: [{ refId: 'A', datasource: { type: 'tempo', uid: datasourceUid }, queryType: 'traceql', query: traceId }],
      range: { from: 'now-7d', to: 'now' },
    },
  };
  return `${grafanaUrl.replace(/\/+$/, '')}/explore?schemaVersion=1&orgId=1&panes=${encodeURIComponent(JSON.stringify(panes))}`;
}

/** The last `[ERROR]` line of a task log (what the dashboard shows for a failed task). */
export function lastError(progressMsg: string): string | null {
  const lines = progressMsg.split('\n').filter((l) => /\[ERROR\]|ERROR:/.test(l));
  return lines.length ? lines[lines.length - 1]!.trim() : null;
}

const PAGE_401 = `<!doctype html><meta charset="utf-8"><title>Ragline monitor</title>
<form method="get" action="/" style="font:16px system-ui;margin:4em auto;max-width:24em">
<p>This monitor needs its access token.</p><input name="token" type="password" autofocus style="width:100%"> <button>Open</button></form>`;

/** The monitor's HTTP API, metrics and dashboard (createServer is tested without a port; main.ts listens). */
export function createMonitorServer(deps: MonitorServerDeps): Server {
  const health = healthHandler({ checks: deps.checks ?? {}, registry: deps.registry });
  const grafana = deps.grafanaUrl;

  function traceFields(info: TaskInfo | undefined) {
    const traceId = info?.traceId ?? null;
    return { trace_id: traceId, trace_url: traceId && grafana ? grafanaTraceUrl(grafana, traceId, deps.grafanaTempoUid) : null };
  }

  async function withInfo(tasks: TaskSummary[]) {
    const infos = deps.info ? await deps.info.getMany(tasks.map((t) => t.id)) : new Map<string, TaskInfo>();
    return tasks.map((t) => {
      const info = infos.get(t.id);
      const error = t.progress < 0 ? (info?.error ? `${info.error.stage}: ${info.error.message}` : lastError(t.progress_msg)) : null;
      return { ...t, ...traceFields(info), error };
    });
  }

  async function listTaskRows(url: URL): Promise<{ status: number; body: unknown }> {
    const state = url.searchParams.get('state') ?? undefined;
    if (state && !STATES.has(state)) return { status: 400, body: { error: `state must be one of ${[...STATES].join(', ')}` } };
    const kbId = url.searchParams.get('kb') ?? undefined;
    const slowestRaw = url.searchParams.get('slowest');
    if (slowestRaw !== null) {
      const n = Math.min(100, Math.max(1, Number(slowestRaw) || 10));
      // slowest by process_duration among the most recently updated tasks of that state (default: done)
      const recent = await deps.taskdb.listTasks({ state: (state as TaskState | undefined) ?? 'done', kbId, limit: SLOWEST_WINDOW });
      const slowest = recent.sort((a, b) => b.process_duration - a.process_duration).slice(0, n);
      return { status: 200, body: { tasks: await withInfo(slowest) } };
    }
    const limit = Math.min(500, Math.max(1, Number(url.searchParams.get('limit') ?? 50) || 50));
    const tasks = await deps.taskdb.listTasks({ state: state as TaskState | undefined, kbId, limit });
    return { status: 200, body: { tasks: await withInfo(tasks) } };
  }

  async function taskDetail(id: string): Promise<{ status: number; body: unknown }> {
    const task = await deps.taskdb.getTask(id);
    if (!task) return { status: 404, body: { error: 'task not found' } };
    const info = (await deps.info?.get(id)) ?? undefined;
    const stages = (info?.stages ?? []).map((s) => ({ stage: s.stage, first_at: s.firstAt, last_at: s.lastAt, duration_ms: s.lastAt - s.firstAt }));
    return {
      status: 200,
      body: { task, stages, error: info?.error ?? (task.progress < 0 ? { stage: null, message: lastError(task.progress_msg) } : null), ...traceFields(info), grafana: grafana ?? null },
    };
  }

  async function stagesBody() {
    return { ...(await stageStats(deps)), history: deps.sampler?.history ?? [] };
  }

  async function overview() {
    const [workers, stages, failed, slowest, recent] = await Promise.all([
      listWorkers(deps.redis, { staleAfterMs: deps.workerTimeoutMs }),
      stagesBody(),
      deps.taskdb.listTasks({ state: 'failed', limit: 20 }).then(withInfo),
      listTaskRows(new URL('/api/tasks?slowest=10', 'http://x')).then((r) => (r.body as { tasks: unknown[] }).tasks),
      deps.taskdb.listTasks({ limit: 20 }).then(withInfo),
    ]);
    return { at: Date.now(), workers, ...stages, failed, slowest, recent, grafana: Boolean(grafana) };
  }

  async function serveStatic(res: ServerResponse, file: string): Promise<void> {
    const root = resolve(deps.dashboardDir!);
    const path = resolve(join(root, file));
    if (!path.startsWith(root + sep)) return sendJson(res, 404, { error: 'not found' });
    try {
      const body = await readFile(path);
      res.writeHead(200, {
        'content-type': CONTENT_TYPES[extname(path)] ?? 'application/octet-stream',
        'cache-control': file === 'index.html' ? 'no-store' : 'public, max-age=300',
        'x-content-type-options': 'nosniff',
        // the page loads only its own bundle and talks only to this server
        'content-security-policy': "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; base-uri 'none'; form-action 'self'",
      });
      res.end(body);
    } catch {
      sendJson(res, 404, { error: file === 'index.html' ? 'dashboard not built (run pnpm build)' : 'not found' });
    }
  }

  return createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      if (url.pathname === '/healthz' || url.pathname === '/readyz') {
        await health(req, res);
        return;
      }
      if (req.method !== 'GET' && req.method !== 'HEAD') return sendJson(res, 405, { error: 'method not allowed' });
      if (deps.dashboardDir && url.pathname.startsWith('/assets/')) {
        // the bundle is the same for everyone and holds no data: public, like the 401 page
        return serveStatic(res, url.pathname.slice(1));
      }
      if (deps.dashboardDir && (url.pathname === '/' || url.pathname === '/index.html')) {
        if (!authorized(req, deps.token, url.searchParams.get('token'))) {
          res.writeHead(401, { 'content-type': 'text/html; charset=utf-8', 'www-authenticate': 'Bearer' }).end(PAGE_401);
          return;
        }
        return serveStatic(res, 'index.html');
      }
      if (!authorized(req, deps.token)) {
        res.setHeader('www-authenticate', 'Bearer');
        sendJson(res, 401, { error: 'missing or wrong bearer token' });
        return;
      }
      if (url.pathname === '/metrics' && (await health(req, res))) return;
      if (url.pathname === '/api/overview') return sendJson(res, 200, await overview());
      if (url.pathname === '/api/workers') return sendJson(res, 200, { workers: await listWorkers(deps.redis, { staleAfterMs: deps.workerTimeoutMs }) });
      if (url.pathname === '/api/stages') return sendJson(res, 200, await stagesBody());
      if (url.pathname === '/api/tasks') {
        const r = await listTaskRows(url);
        return sendJson(res, r.status, r.body);
      }
      const m = /^\/api\/tasks\/([A-Za-z0-9_-]{1,64})$/.exec(url.pathname);
      if (m) {
        const r = await taskDetail(m[1]!);
        return sendJson(res, r.status, r.body);
      }
      sendJson(res, 404, { error: 'not found' });
    })().catch((e: Error) => {
      if (!res.headersSent) sendJson(res, 500, { error: e.message });
    });
  });
}
