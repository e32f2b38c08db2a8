import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { consumerLag, type JetStreamManager } from '@ragline/bus';
import type { TopologyNames } from '@ragline/contracts';
import { listWorkers, queueStats } from '@ragline/redis-queue';
import { healthHandler, type ReadinessCheck } from '@ragline/service';
import type { TaskDb } from '@ragline/taskdb';
import type { Redis } from 'ioredis';
import type { Registry } from 'prom-client';

export interface MonitorServerDeps {
  taskdb: Pick<TaskDb, 'listTasks' | 'getTask'>;
  redis: Redis;
  jsm: JetStreamManager;
  names: TopologyNames;
  /** RAGFlow streams the bridge reads, for queue depth */
  queues: string[];
  registry?: Registry;
  /** when set, /api and /metrics require `Authorization: Bearer <token>` */
  token?: string;
  checks?: Record<string, ReadinessCheck>;
  grafanaUrl?: string;
}

const STATES = new Set(['running', 'done', 'failed', 'queued']);

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

function authorized(req: IncomingMessage, token: string | undefined): boolean {
  if (!token) return true;
  const given = Buffer.from(String(req.headers.authorization ?? ''));
  const expected = Buffer.from(`Bearer ${token}`);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** Per-stage consumer lag and the RAGFlow queue depth. */
export async function stageStats(deps: Pick<MonitorServerDeps, 'jsm' | 'names' | 'redis' | 'queues'>) {
  const { names } = deps;
  const stages = [
    { stage: 'parser', stream: names.streams.tasks, consumer: names.consumers.parser },
    { stage: 'embedder', stream: names.streams.chunks, consumer: names.consumers.embedder },
    { stage: 'indexer', stream: names.streams.index, consumer: names.consumers.indexer },
    { stage: 'monitor', stream: names.streams.events, consumer: names.consumers.monitorEvents },
  ];
  const out: Record<string, unknown>[] = [];
  for (const s of stages) {
    try {
      out.push({ stage: s.stage, ...(await consumerLag(deps.jsm, s.stream, s.consumer)) });
    } catch (e) {
      out.push({ stage: s.stage, stream: s.stream, consumer: s.consumer, error: (e as Error).message });
    }
  }
  const queues = await Promise.all(deps.queues.map(async (q) => ({ stream: q, ...(await queueStats(deps.redis, q, 'rag_flow_svr_task_broker')) })));
  return { stages: out, queues };
}

/** The monitor's HTTP API (createServer is tested without a port; main.ts listens). */
export function createMonitorServer(deps: MonitorServerDeps): Server {
  const health = healthHandler({ checks: deps.checks ?? {}, registry: deps.registry });
  return createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      if (url.pathname === '/healthz' || url.pathname === '/readyz') {
        await health(req, res);
        return;
      }
      if (!authorized(req, deps.token)) {
        res.setHeader('www-authenticate', 'Bearer');
        sendJson(res, 401, { error: 'missing or wrong bearer token' });
        return;
      }
      if (url.pathname === '/metrics' && (await health(req, res))) return;
      if (req.method !== 'GET') return sendJson(res, 405, { error: 'method not allowed' });
      if (url.pathname === '/api/workers') return sendJson(res, 200, { workers: await listWorkers(deps.redis) });
      if (url.pathname === '/api/stages') return sendJson(res, 200, await stageStats(deps));
      if (url.pathname === '/api/tasks') {
        const state = url.searchParams.get('state') ?? undefined;
        if (state && !STATES.has(state)) return sendJson(res, 400, { error: `state must be one of ${[...STATES].join(', ')}` });
        const limit = Math.min(500, Math.max(1, Number(url.searchParams.get('limit') ?? 50) || 50));
        const tasks = await deps.taskdb.listTasks({
          state: state as 'running' | 'done' | 'failed' | 'queued' | undefined,
          kbId: url.searchParams.get('kb') ?? undefined,
          limit,
        });
        return sendJson(res, 200, { tasks });
      }
      const m = /^\/api\/tasks\/([A-Za-z0-9_-]{1,64})$/.exec(url.pathname);
      if (m) {
        const task = await deps.taskdb.getTask(m[1]!);
        if (!task) return sendJson(res, 404, { error: 'task not found' });
        return sendJson(res, 200, { task, grafana: deps.grafanaUrl ?? null });
      }
      sendJson(res, 404, { error: 'not found' });
    })().catch((e: Error) => {
      if (!res.headersSent) sendJson(res, 500, { error: e.message });
    });
  });
}
