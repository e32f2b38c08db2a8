import { hostname, networkInterfaces } from 'node:os';
import type { Redis } from 'ioredis';
import { redisErrorCode, toQueueError } from './errors.js';
import { pythonJsonDumps } from './json.js';

/** RAGFlow's set of task executor names (each name is also the key of its heartbeat sorted set). */
export const WORKER_SET_KEY = 'TASKEXE';

export interface HeartbeatSnapshot {
  pending: number;
  lag: number;
  done: number;
  failed: number;
  /** tasks in progress, by task id (RAGFlow puts whole task dicts here) */
  current: Record<string, unknown>;
}

/** One heartbeat record as stored in the worker's sorted set: RAGFlow's fields, then Ragline's. */
export interface Heartbeat extends HeartbeatSnapshot {
  ip_address: string;
  pid: number;
  name: string;
  /** ISO-8601 local time with offset and milliseconds */
  now: string;
  boot_at: string;
  stage?: string;
  version?: string;
  host?: string;
}

export interface HeartbeatReporterOptions {
  /** consumer / worker name; RAGFlow: task_executor_<type>_<idx> */
  name: string;
  /** Ragline stage (bridge, parser, embedder, ...) */
  stage: string;
  version: string;
  /** default 30000 (RAGFlow's period) */
  intervalMs?: number;
  /** heartbeats older than this are trimmed from the sorted set; default 1800000 (30 min) */
  retentionMs?: number;
  snapshot: () => HeartbeatSnapshot;
  /** failures of timer-driven beats (a failing beat never stops the timer); default: ignored */
  onError?: (err: Error) => void;
}

/**
 * Writes RAGFlow-compatible heartbeats so RAGFlow's /system/status lists Ragline workers:
 * SADD TASKEXE <name> (every beat, so a worker removed while stalled comes back), ZADD <name> <now> <json>,
 * ZREMRANGEBYSCORE <name> 0 <now - retention>.
 */
export class HeartbeatReporter {
  readonly name: string;
  private readonly intervalMs: number;
  private readonly retentionMs: number;
  private readonly bootAt = new Date();
  private readonly ipAddress = hostIp();
  private timer: NodeJS.Timeout | undefined;
  private lastBeat: Promise<void> | undefined;

  constructor(
    private readonly redis: Redis,
    private readonly opts: HeartbeatReporterOptions,
  ) {
    if (!opts.name) throw new TypeError('HeartbeatReporter needs a name');
    this.name = opts.name;
    this.intervalMs = opts.intervalMs ?? 30_000;
    this.retentionMs = opts.retentionMs ?? 1_800_000;
  }

  /** Builds the record for `at` (exposed for tests and for the monitor's own view). */
  record(at: Date = new Date()): Heartbeat {
    const snap = this.opts.snapshot();
    return {
      ip_address: this.ipAddress,
      pid: process.pid,
      name: this.name,
      now: pythonIsoFormat(at),
      boot_at: pythonIsoFormat(this.bootAt),
      pending: snap.pending,
      lag: snap.lag,
      done: snap.done,
      failed: snap.failed,
      current: snap.current,
      stage: this.opts.stage,
      version: this.opts.version,
      host: hostname(),
    };
  }

  async beat(): Promise<void> {
    const at = new Date();
    const nowSeconds = at.getTime() / 1000;
    try {
      await this.redis
        .multi()
        .sadd(WORKER_SET_KEY, this.name)
        .zadd(this.name, nowSeconds, pythonJsonDumps(this.record(at)))
        .zremrangebyscore(this.name, 0, nowSeconds - this.retentionMs / 1000)
        .exec()
        .then(throwFirstError);
    } catch (err) {
      throw toQueueError(err, `heartbeat of ${this.name}`);
    }
  }

  /** Beats now and then every intervalMs; the timer does not keep the process alive. */
  start(): void {
    if (this.timer) return;
    const tick = (): void => {
      this.lastBeat = this.beat().catch((err: Error) => this.opts.onError?.(err));
    };
    this.timer = setInterval(tick, this.intervalMs);
    this.timer.unref();
    tick();
  }

  /** Stops beating; with `deregister` (clean shutdown) also removes this worker from TASKEXE and deletes its heartbeats. */
  async stop(opts: { deregister?: boolean } = {}): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    // a beat still in flight would re-register the worker after the SREM
    await this.lastBeat;
    if (!opts.deregister) return;
    try {
      await this.redis.multi().srem(WORKER_SET_KEY, this.name).del(this.name).exec().then(throwFirstError);
    } catch (err) {
      throw toQueueError(err, `deregistering ${this.name}`);
    }
  }
}

export interface WorkerInfo {
  name: string;
  /** a heartbeat newer than staleAfterMs exists */
  alive: boolean;
  /** epoch ms of the latest heartbeat (its sorted-set score), null when there is none */
  lastBeatAt: number | null;
  /** the latest heartbeat record; null when missing or not JSON */
  heartbeat: Heartbeat | null;
}

/** Workers registered in TASKEXE with their latest heartbeat (ZREVRANGE <name> 0 0 WITHSCORES). */
export async function listWorkers(redis: Redis, opts: { staleAfterMs?: number } = {}): Promise<WorkerInfo[]> {
  const staleAfterMs = opts.staleAfterMs ?? 120_000;
  try {
    const latest = await latestBeats(redis);
    const now = Date.now();
    return latest
      .map(({ name, score, member }) => ({
        name,
        alive: score !== null && now - score <= staleAfterMs,
        lastBeatAt: score,
        heartbeat: member === null ? null : parseHeartbeat(member),
      }))
      .sort((a, b) => a.name.localeCompare(b.name));
  } catch (err) {
    throw toQueueError(err, 'listing workers');
  }
}

/**
 * RAGFlow's executor cleanup: members of TASKEXE (other than `except`) whose latest heartbeat is missing
 * or older than timeoutMs are removed (SREM + DEL). Run it under a RedisLock so one process does it.
 */
export async function cleanupDeadWorkers(
  redis: Redis,
  opts: { timeoutMs?: number; except?: string } = {},
): Promise<string[]> {
  const timeoutMs = opts.timeoutMs ?? 120_000;
  try {
    const now = Date.now();
    const dead = (await latestBeats(redis))
      .filter(({ name, score }) => name !== opts.except && (score === null || now - score > timeoutMs))
      .map(({ name }) => name);
    if (dead.length > 0) {
      const tx = redis.multi();
      for (const name of dead) tx.srem(WORKER_SET_KEY, name).del(name);
      await tx.exec().then(throwFirstError);
    }
    return dead.sort();
  } catch (err) {
    throw toQueueError(err, 'cleaning up dead workers');
  }
}

async function latestBeats(redis: Redis): Promise<{ name: string; score: number | null; member: string | null }[]> {
  const names = await redis.smembers(WORKER_SET_KEY);
  if (names.length === 0) return [];
  const pipeline = redis.pipeline();
  for (const name of names) pipeline.zrevrange(name, 0, 0, 'WITHSCORES');
  const replies = await pipeline.exec().then(throwFirstError);
  return names.map((name, i) => {
    const reply = replies[i]?.[1];
    // a key of another type under a worker's name counts as "no heartbeat"
    if (!Array.isArray(reply) || reply.length < 2) return { name, score: null, member: null };
    return { name, score: Number(reply[1]) * 1000, member: String(reply[0]) };
  });
}

function parseHeartbeat(member: string): Heartbeat | null {
  try {
    const value: unknown = JSON.parse(member);
    return value && typeof value === 'object' ? (value as Heartbeat) : null;
  } catch {
    return null;
  }
}

type ExecResult = [Error | null, unknown][] | null;

/** MULTI/pipeline replies carry per-command errors; WRONGTYPE on one worker key must not abort listing the others. */
function throwFirstError(results: ExecResult): [Error | null, unknown][] {
  if (!results) throw new Error('transaction aborted');
  for (const [err] of results) {
    if (err && redisErrorCode(err) !== 'WRONGTYPE') throw err;
  }
  return results;
}

/** Python's `datetime.now().astimezone().isoformat(timespec="milliseconds")`: 2026-08-22T10:00:00.123+02:00. */
export function pythonIsoFormat(date: Date): string {
  const pad = (n: number, width = 2): string => String(n).padStart(width, '0');
  const offset = -date.getTimezoneOffset();
  const sign = offset >= 0 ? '+' : '-';
  const abs = Math.abs(offset);
  return (
    `${pad(date.getFullYear(), 4)}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}` +
    `T${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}` +
    `${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`
  );
}

/** First non-internal IPv4 address (what RAGFlow reports as ip_address), else 127.0.0.1. */
function hostIp(): string {
  for (const list of Object.values(networkInterfaces())) {
    for (const addr of list ?? []) {
      if (addr.family === 'IPv4' && !addr.internal) return addr.address;
    }
  }
  return '127.0.0.1';
}
