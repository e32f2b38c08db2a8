import {
  runBatchConsumer,
  runConsumer,
  type BatchItem,
  type BatchOutcome,
  type ConsumerStats,
  type DeliveryContext,
  type Dependency,
  type DependencyGate,
  type JetStreamManager,
  type NatsConnection,
  type RunningConsumer,
} from '@ragline/bus';
import type { CommonEnv } from '@ragline/config';
import type { Stage, TopologyNames } from '@ragline/contracts';
import type { HeartbeatSnapshot } from '@ragline/redis-queue';
import type { Logger, Tracer } from '@ragline/telemetry';
import type { z } from 'zod';
import type { ShutdownPhases } from './lifecycle.js';

/** What an app reports each beat; pending/lag come from `load` when the app gives one. */
export type HeartbeatCounters = Omit<HeartbeatSnapshot, 'pending' | 'lag'> & Partial<Pick<HeartbeatSnapshot, 'pending' | 'lag'>>;

/** RAGFlow's heartbeat `pending` (delivered, not acked) and `lag` (not yet delivered) of the input this replica reads. */
export type HeartbeatLoad = () => Promise<{ pending: number; lag: number }>;

/** pending/lag of a stage's durable JetStream consumer. */
export function consumerLoad(jsm: JetStreamManager, stream: string, consumer: string): HeartbeatLoad {
  return async () => {
    const ci = await jsm.consumers.info(stream, consumer);
    return { pending: ci.num_ack_pending, lag: ci.num_pending };
  };
}

/**
 * Tasks a replica is working on, for the heartbeat's `current` (RAGFlow puts its in-flight task
 * dicts there). Several messages of one task (embedder batches) count once, with how many.
 */
export class InFlightTasks {
  private readonly tasks = new Map<string, { task_id: string; doc_id: string; since: string; messages: number }>();

  /** Wraps a message handler so the message's task is listed while the handler runs. */
  wrap<M, C>(handler: (msg: M, ctx: C) => Promise<void>, taskOf: (msg: M) => { task_id: string; doc_id: string }) {
    return async (msg: M, ctx: C): Promise<void> => {
      const { task_id, doc_id } = taskOf(msg);
      const cur = this.tasks.get(task_id);
      if (cur) cur.messages++;
      else this.tasks.set(task_id, { task_id, doc_id, since: new Date().toISOString(), messages: 1 });
      try {
        await handler(msg, ctx);
      } finally {
        const t = this.tasks.get(task_id);
        if (t && --t.messages <= 0) this.tasks.delete(task_id);
      }
    };
  }

  get size(): number {
    return this.tasks.size;
  }

  snapshot(): Record<string, unknown> {
    return Object.fromEntries([...this.tasks].map(([id, t]) => [id, { ...t }]));
  }
}

/** The JetStream stages (the bridge reads RAGFlow's Redis streams instead). */
export type ConsumingStage = Exclude<Stage, 'bridge'>;
/** `work`: what the stage processes; `dead-letters`: the DLQ stream (only the monitor reads it). */
export type StageInputKind = 'work' | 'dead-letters';

export interface StageInput {
  stream: string;
  /** the stage's durable consumer, shared by all its replicas */
  consumer: string;
  /** where its failures go; null for the DLQ's own consumer (a dead letter is never dead-lettered again) */
  dlqSubject: string | null;
  /** the input the replica's heartbeat reports (done, failed, pending, lag) */
  heartbeat: boolean;
}

/** Stream, durable consumer and DLQ subject of a stage's input: all functions of the stage. */
export function stageInput(names: TopologyNames, stage: ConsumingStage, kind: StageInputKind = 'work'): StageInput {
  const dlqSubject = names.subjects.dlq(stage);
  if (kind === 'dead-letters') {
    if (stage !== 'monitor') throw new Error(`only the monitor reads the dead-letter stream, not the ${stage}`);
    return { stream: names.streams.dlq, consumer: names.consumers.monitorDlq, dlqSubject: null, heartbeat: false };
  }
  switch (stage) {
    case 'parser':
      return { stream: names.streams.tasks, consumer: names.consumers.parser, dlqSubject, heartbeat: true };
    case 'enricher':
      return { stream: names.streams.chunks, consumer: names.consumers.enricher, dlqSubject, heartbeat: true };
    case 'embedder':
      return { stream: names.streams.chunks, consumer: names.consumers.embedder, dlqSubject, heartbeat: true };
    case 'indexer':
      return { stream: names.streams.index, consumer: names.consumers.indexer, dlqSubject, heartbeat: true };
    case 'monitor':
      return { stream: names.streams.events, consumer: names.consumers.monitorEvents, dlqSubject, heartbeat: true };
  }
}

/** The parts of the stage runtime a stage consumer is wired from. */
export interface StageHost {
  stage: Stage;
  cfg: CommonEnv;
  logger: Logger;
  tracer: Tracer;
  names: TopologyNames;
  nc: NatsConnection;
  jsm: JetStreamManager;
  lifecycle: ShutdownPhases;
  dependencyGate(more?: Dependency[]): DependencyGate;
  startHeartbeat(snapshot: () => HeartbeatCounters, load?: HeartbeatLoad): void;
}

interface StageGateOptions {
  /**
   * The gate that pauses pulling while a dependency is down; default a new one for Redis plus
   * `dependencies` (pass one gate to several consumers of a stage so one outage pauses them all).
   */
  gate?: DependencyGate;
  /** dependencies besides Redis for the default gate (MySQL, the object store) */
  dependencies?: Dependency[];
  /** another reason to pause pulling, e.g. the embedder's open circuit breakers */
  canPull?: () => boolean;
}

export interface StageOptions<S extends z.ZodType> extends StageGateOptions {
  schema: S;
  handler: (msg: z.output<S>, ctx: DeliveryContext) => Promise<void>;
  /** messages handled at once by this replica */
  concurrency: number;
  /** the message's task, listed in the heartbeat's `current` while it is handled; default `msg.task` */
  taskOf?: (msg: z.output<S>) => { task_id: string; doc_id: string };
  /** heartbeat `current` fields besides the tasks in flight */
  current?: (stats: ConsumerStats) => Record<string, unknown>;
}

export interface RunningStage {
  consumer: RunningConsumer;
  gate: DependencyGate;
  inFlight: InFlightTasks;
}

function gateFor(host: StageHost, opts: StageGateOptions): { gate: DependencyGate; canPull: () => boolean } {
  const gate = opts.gate ?? host.dependencyGate(opts.dependencies);
  const more = opts.canPull;
  return { gate, canPull: more ? () => more() && gate.canPull() : gate.canPull };
}

const defaultTaskOf = (msg: unknown) => (msg as { task: { task_id: string; doc_id: string } }).task;

/**
 * A stage's per-message consumer (runConsumer) on its own input, behind a dependency gate, with its
 * tasks listed in the heartbeat, its load reported, and its stop registered in the intake and
 * in-flight phases of the drain.
 */
export function runStage<S extends z.ZodType>(host: StageHost, opts: StageOptions<S>): RunningStage {
  const stage = host.stage as ConsumingStage;
  const input = stageInput(host.names, stage);
  const { gate, canPull } = gateFor(host, opts);
  const inFlight = new InFlightTasks();
  const consumer = runConsumer({
    nc: host.nc,
    stream: input.stream,
    consumer: input.consumer,
    stage,
    schema: opts.schema,
    concurrency: opts.concurrency,
    maxDeliver: host.cfg.NATS_MAX_DELIVER,
    dlqSubject: input.dlqSubject!,
    logger: host.logger,
    tracer: host.tracer,
    canPull,
    handler: gate.guard(inFlight.wrap(opts.handler, opts.taskOf ?? defaultTaskOf)),
  });
  host.lifecycle.addStoppable(`consumer ${input.consumer}`, consumer);
  host.startHeartbeat(
    () => ({ done: consumer.stats.done, failed: consumer.stats.failed, current: { ...inFlight.snapshot(), ...opts.current?.(consumer.stats) } }),
    consumerLoad(host.jsm, input.stream, input.consumer),
  );
  return { consumer, gate, inFlight };
}

export type RunningBatchConsumer = ReturnType<typeof runBatchConsumer>;

export interface BatchStageOptions<S extends z.ZodType> extends StageGateOptions {
  /** which of the stage's inputs; default its work */
  input?: StageInputKind;
  schema: S;
  handler: (items: BatchItem<z.output<S>>[]) => Promise<void | BatchOutcome<z.output<S>>>;
  /** most messages per handler call (runBatchConsumer's default when unset) */
  maxBatch?: number;
  /** heartbeat `current` fields (when this input is the one the heartbeat reports) */
  current?: () => Record<string, unknown>;
}

export interface RunningBatchStage {
  consumer: RunningBatchConsumer;
  gate: DependencyGate;
}

/**
 * A stage's batch consumer (runBatchConsumer: one handler call per fetched batch) on one of its
 * inputs, wired like runStage. Only the stage's work input reports to the heartbeat.
 */
export function runBatchStage<S extends z.ZodType>(host: StageHost, opts: BatchStageOptions<S>): RunningBatchStage {
  const stage = host.stage as ConsumingStage;
  const input = stageInput(host.names, stage, opts.input);
  const { gate, canPull } = gateFor(host, opts);
  const consumer = runBatchConsumer({
    nc: host.nc,
    stream: input.stream,
    consumer: input.consumer,
    stage,
    schema: opts.schema,
    dlqSubject: input.dlqSubject,
    maxDeliver: host.cfg.NATS_MAX_DELIVER,
    ...(opts.maxBatch !== undefined && { maxBatch: opts.maxBatch }),
    logger: host.logger,
    canPull,
    handler: gate.guard(opts.handler),
  });
  host.lifecycle.addStoppable(`consumer ${input.consumer}`, consumer);
  if (input.heartbeat) {
    host.startHeartbeat(
      () => ({ done: consumer.stats.done, failed: consumer.stats.failed, current: opts.current?.() ?? {} }),
      consumerLoad(host.jsm, input.stream, input.consumer),
    );
  }
  return { consumer, gate };
}
