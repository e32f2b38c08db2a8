import type { JetStreamManager } from '@ragline/bus';
import type { TopologyNames } from '@ragline/contracts';
import { listWorkers, queueStats, RAGFLOW_CONSUMER_GROUP, type QueueStats } from '@ragline/redis-queue';
import type { Logger } from '@ragline/telemetry';
import type { Redis } from 'ioredis';
import type { MonitorMetrics } from './metrics.js';

export interface StageStat {
  stage: string;
  stream?: string;
  consumer?: string;
  /** messages not yet delivered (consumer lag) */
  pending?: number;
  /** delivered, not acked (in flight) */
  ackPending?: number;
  redelivered?: number;
  waiting?: number;
  streamMessages?: number;
  /** messages the stage finished since the stream was created (work-queue: acked ones are removed) */
  processed?: number;
  /** present instead of the numbers when the consumer could not be read */
  error?: string;
  [field: string]: unknown;
}

export interface StageStatsDeps {
  jsm: JetStreamManager;
  names: TopologyNames;
  redis: Redis;
  /** RAGFlow streams the bridge reads */
  queues: readonly string[];
}

/** Per-stage consumer lag, in-flight and redelivered counts, plus the RAGFlow queue depth. */
export async function stageStats(deps: StageStatsDeps): Promise<{ stages: StageStat[]; queues: (QueueStats & { stream: string })[] }> {
  const { names } = deps;
  const defs = [
    { stage: 'parser', stream: names.streams.tasks, consumer: names.consumers.parser },
    { stage: 'enricher', stream: names.streams.chunks, consumer: names.consumers.enricher },
    { stage: 'embedder', stream: names.streams.chunks, consumer: names.consumers.embedder },
    { stage: 'indexer', stream: names.streams.index, consumer: names.consumers.indexer },
    { stage: 'monitor', stream: names.streams.events, consumer: names.consumers.monitorEvents },
  ];
  const stages = await Promise.all(
    defs.map(async (s): Promise<StageStat & { stream: string; consumer: string }> => {
      try {
        const [ci, si] = await Promise.all([deps.jsm.consumers.info(s.stream, s.consumer), deps.jsm.streams.info(s.stream)]);
        return {
          ...s,
          pending: ci.num_pending,
          ackPending: ci.num_ack_pending,
          redelivered: ci.num_redelivered,
          waiting: ci.num_waiting,
          streamMessages: si.state.messages,
          // every message ever stored minus those still there: what the stage acked
          processed: Math.max(0, si.state.last_seq - si.state.messages),
        };
      } catch (e) {
        return { ...s, error: (e as Error).message };
      }
    }),
  );
  const queues = await Promise.all(deps.queues.map(async (q) => ({ stream: q, ...(await queueStats(deps.redis, q, RAGFLOW_CONSUMER_GROUP)) })));
  return { stages, queues };
}

export interface StageSample {
  at: number;
  stages: Record<string, { pending: number; ackPending: number; redelivered: number; throughput: number }>;
  queues: Record<string, { length: number; lag: number | null }>;
}

export interface StageSamplerOptions {
  /** sampling period; default 5000 */
  intervalMs?: number;
  /** samples kept (the charts' window); default 360 (30 min at 5 s) */
  keep?: number;
  metrics?: MonitorMetrics;
  logger?: Logger;
  /** worker staleness for the workers gauge; default 120000 */
  workerTimeoutMs?: number;
}

/**
 * Samples stage and queue statistics on a timer and keeps a bounded history for the dashboard's
 * charts; throughput is the change of `processed` between samples. Also refreshes the gauges.
 */
export class StageSampler {
  readonly intervalMs: number;
  private readonly keep: number;
  private readonly samples: StageSample[] = [];
  private timer: NodeJS.Timeout | undefined;
  private last: { at: number; processed: Map<string, number> } | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly deps: StageStatsDeps,
    private readonly opts: StageSamplerOptions = {},
  ) {
    this.intervalMs = opts.intervalMs ?? 5000;
    this.keep = opts.keep ?? 360;
  }

  get history(): readonly StageSample[] {
    return this.samples;
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.sample().catch(() => undefined), this.intervalMs);
    this.timer.unref();
    void this.sample().catch(() => undefined);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** Takes one sample now (the timer calls it). */
  async sample(): Promise<StageSample> {
    const run = this.takeSample();
    this.running = run.then(() => undefined, () => undefined);
    try {
      return await run;
    } catch (e) {
      this.opts.logger?.warn({ err: (e as Error).message }, 'stage sampling failed');
      throw e;
    }
  }

  private async takeSample(): Promise<StageSample> {
    const { stages, queues } = await stageStats(this.deps);
    const at = Date.now();
    const processed = new Map<string, number>();
    const sample: StageSample = { at, stages: {}, queues: {} };
    const m = this.opts.metrics;
    for (const s of stages) {
      if (s.error !== undefined) continue;
      processed.set(s.stage, s.processed ?? 0);
      const before = this.last?.processed.get(s.stage);
      const dt = this.last ? (at - this.last.at) / 1000 : 0;
      // a stream recreated meanwhile (processed went down) restarts the count instead of going negative
      const throughput = before !== undefined && dt > 0 ? Math.max(0, (s.processed ?? 0) - before) / dt : 0;
      sample.stages[s.stage] = { pending: s.pending ?? 0, ackPending: s.ackPending ?? 0, redelivered: s.redelivered ?? 0, throughput };
      m?.stagePending.set({ stage: s.stage }, s.pending ?? 0);
      m?.stageAckPending.set({ stage: s.stage }, s.ackPending ?? 0);
      m?.stageRedelivered.set({ stage: s.stage }, s.redelivered ?? 0);
      m?.stageThroughput.set({ stage: s.stage }, throughput);
    }
    for (const q of queues) {
      sample.queues[q.stream] = { length: q.length, lag: q.lag };
      m?.queueLength.set({ stream: q.stream }, q.length);
      if (q.lag !== null) m?.queueLag.set({ stream: q.stream }, q.lag);
    }
    if (m) {
      const workers = await listWorkers(this.deps.redis, { staleAfterMs: this.opts.workerTimeoutMs ?? 120_000 });
      m.workers.reset();
      for (const w of workers) m.workers.inc({ stage: w.heartbeat?.stage ?? 'unknown', state: w.alive ? 'alive' : 'silent' });
    }
    this.last = { at, processed };
    this.samples.push(sample);
    if (this.samples.length > this.keep) this.samples.splice(0, this.samples.length - this.keep);
    return sample;
  }
}
