import type { Redis } from 'ioredis';

/** When a stage was first and last seen working on a task (from the events the monitor applied). */
export interface StageTiming {
  stage: string;
  firstAt: number;
  lastAt: number;
}

/** What the monitor learned about a task beyond MySQL's row: its trace, per-stage timings, the failing stage. */
export interface TaskInfo {
  traceId: string | null;
  stages: StageTiming[];
  error: { stage: string; message: string } | null;
}

export interface TaskObservation {
  taskId: string;
  stage: string;
  at: number;
  /** W3C traceparent header of the message, if any */
  traceparent?: string;
}

const TRACEPARENT = /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/;

/** The trace id of a W3C traceparent, null when absent or invalid (all-zero ids are invalid). */
export function traceIdOf(traceparent: string | undefined): string | null {
  const m = traceparent ? TRACEPARENT.exec(traceparent.trim()) : null;
  return m && !/^0+$/.test(m[1]!) ? m[1]! : null;
}

/**
 * Per-task observations in a Redis hash (`ragline:task:<id>`, expiring after `ttlMs`), written in
 * one pipeline per event batch. MySQL keeps RAGFlow's schema untouched; this is Ragline's own.
 */
export class TaskInfoStore {
  private readonly ttlSeconds: number;

  constructor(
    private readonly redis: Redis,
    opts: { ttlMs?: number } = {},
  ) {
    this.ttlSeconds = Math.ceil((opts.ttlMs ?? 7 * 24 * 3600_000) / 1000);
  }

  static key(taskId: string): string {
    return `ragline:task:${taskId}`;
  }

  async record(observations: readonly TaskObservation[]): Promise<void> {
    if (!observations.length) return;
    // fold a batch first: one first/last per task and stage
    const folded = new Map<string, { taskId: string; stage: string; first: number; last: number; traceId: string | null }>();
    for (const o of observations) {
      const k = `${o.taskId}\u0000${o.stage}`;
      const cur = folded.get(k);
      const traceId = traceIdOf(o.traceparent);
      if (!cur) folded.set(k, { taskId: o.taskId, stage: o.stage, first: o.at, last: o.at, traceId });
      else {
        cur.first = Math.min(cur.first, o.at);
        cur.last = Math.max(cur.last, o.at);
        cur.traceId ??= traceId;
      }
    }
    const p = this.redis.pipeline();
    for (const f of folded.values()) {
      const key = TaskInfoStore.key(f.taskId);
      if (f.traceId) p.hsetnx(key, 'trace_id', f.traceId);
      p.hsetnx(key, `stage:${f.stage}:first`, String(f.first));
      p.hset(key, `stage:${f.stage}:last`, String(f.last));
      p.expire(key, this.ttlSeconds);
    }
    await p.exec();
  }

  async recordFailure(taskId: string, stage: string, message: string, traceparent?: string): Promise<void> {
    const key = TaskInfoStore.key(taskId);
    const p = this.redis.pipeline();
    const traceId = traceIdOf(traceparent);
    if (traceId) p.hsetnx(key, 'trace_id', traceId);
    p.hset(key, 'error_stage', stage, 'error', message.slice(0, 2000));
    p.expire(key, this.ttlSeconds);
    await p.exec();
  }

  async get(taskId: string): Promise<TaskInfo | null> {
    return (await this.getMany([taskId])).get(taskId) ?? null;
  }

  async getMany(taskIds: readonly string[]): Promise<Map<string, TaskInfo>> {
    const out = new Map<string, TaskInfo>();
    if (!taskIds.length) return out;
    const p = this.redis.pipeline();
    for (const id of taskIds) p.hgetall(TaskInfoStore.key(id));
    const replies = (await p.exec()) ?? [];
    taskIds.forEach((id, i) => {
      const [err, h] = replies[i] ?? [null, null];
      if (err || !h || typeof h !== 'object' || Object.keys(h).length === 0) return;
      out.set(id, parseInfo(h as Record<string, string>));
    });
    return out;
  }
}

function parseInfo(h: Record<string, string>): TaskInfo {
  const stages = new Map<string, StageTiming>();
  for (const [field, value] of Object.entries(h)) {
    const m = /^stage:([^:]+):(first|last)$/.exec(field);
    if (!m) continue;
    const s = stages.get(m[1]!) ?? { stage: m[1]!, firstAt: Number(value), lastAt: Number(value) };
    if (m[2] === 'first') s.firstAt = Number(value);
    else s.lastAt = Number(value);
    stages.set(m[1]!, s);
  }
  return {
    traceId: h.trace_id ?? null,
    stages: [...stages.values()].sort((a, b) => a.firstAt - b.firstAt),
    error: h.error ? { stage: h.error_stage ?? 'unknown', message: h.error } : null,
  };
}
