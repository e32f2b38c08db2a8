import type { Server } from 'node:http';
import { DependencyGate, Publisher, connectNats, ensureTopology, type Dependency, type JetStreamManager, type NatsConnection } from '@ragline/bus';
import { dataPaths, secretValues, type CommonEnv } from '@ragline/config';
import { topologyNames, type Stage, type TopologyNames } from '@ragline/contracts';
import { HeartbeatReporter, createRedis, type HeartbeatSnapshot } from '@ragline/redis-queue';
import {
  createHealthServer,
  createMetricsRegistry,
  handleShutdown,
  installDiagnostics,
  installFatalHandler,
  listen,
  type ReadinessCheck,
  type Stoppable,
} from '@ragline/service';
import { createLogger, startTelemetry, type Logger, type Telemetry, type Tracer } from '@ragline/telemetry';
import type { Redis } from 'ioredis';
import type { Registry } from 'prom-client';
import { redisDependency } from './dependencies.js';

export const VERSION = '0.1.0';

export type { HeartbeatSnapshot };

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

export interface StageRuntime {
  stage: Stage;
  cfg: CommonEnv;
  logger: Logger;
  telemetry: Telemetry;
  tracer: Tracer;
  names: TopologyNames;
  nc: NatsConnection;
  jsm: JetStreamManager;
  publisher: Publisher;
  redis: Redis;
  registry: Registry;
  /** RAGFlow-compatible worker name, e.g. ragline_parser_host_123 */
  workerName: string;
  secrets: string[];
  /** things to stop on SIGTERM, in order, before connections close */
  onStop(c: Stoppable | (() => Promise<void>)): void;
  /** heartbeats every HEARTBEAT_INTERVAL_MS; `load` (refreshed on the same period) fills pending/lag */
  startHeartbeat(snapshot: () => HeartbeatCounters, load?: HeartbeatLoad): void;
  serveHealth(checks?: Record<string, ReadinessCheck>): Promise<number | undefined>;
  /**
   * A gate that stops this stage's consumers pulling while Redis or one of `more` (MySQL, the object
   * store) is down, so an outage does not use up the messages' deliveries; stopped on shutdown.
   */
  dependencyGate(more?: Dependency[]): DependencyGate;
  shutdown(reason: string): Promise<void>;
}

/**
 * Everything a stage process needs before it can work: telemetry, logs, NATS (with the topology
 * ensured), Redis, heartbeats, health endpoints and the SIGTERM drain. Apps call this and add
 * their consumer.
 */
export async function startRuntime(stage: Stage, cfg: CommonEnv, opts: { exit?: (code: number) => void } = {}): Promise<StageRuntime> {
  installFatalHandler({ service: `ragline-${stage}`, secrets: secretValues(cfg as unknown as Record<string, unknown>) });
  const telemetry = startTelemetry({ serviceName: `ragline-${stage}`, serviceVersion: VERSION });
  const workerName = `ragline_${stage}_${cfg.RAGLINE_REPLICA}`;
  const logger = createLogger({ service: `ragline-${stage}`, level: cfg.LOG_LEVEL, base: { stage, worker: workerName } });
  const names = topologyNames(cfg.RAGLINE_SUBJECT_PREFIX, cfg.RAGLINE_STREAM_PREFIX);
  const nc = await connectNats({
    url: cfg.NATS_URL,
    user: cfg.NATS_USER,
    password: cfg.NATS_PASSWORD,
    token: cfg.NATS_TOKEN,
    tls: { ca: cfg.NATS_TLS_CA, cert: cfg.NATS_TLS_CERT, key: cfg.NATS_TLS_KEY },
    name: workerName,
  });
  const jsm = await ensureTopology(nc, names, {
    duplicateWindowMs: cfg.NATS_DUPLICATE_WINDOW_MS,
    maxDeliver: cfg.NATS_MAX_DELIVER,
    ackWaitMs: cfg.NATS_ACK_WAIT_MS,
    replicas: cfg.NATS_STREAM_REPLICAS,
  });
  const redis = createRedis({ url: cfg.REDIS_URL, keyPrefix: cfg.REDIS_KEY_PREFIX });
  const registry = createMetricsRegistry({ stage, worker: workerName });
  const diagnostics = installDiagnostics({
    dir: dataPaths(cfg).diagnostics,
    name: workerName,
    samplingAtBoot: cfg.RAGLINE_HEAP_SAMPLING,
    log: (msg, fields) => logger.info(fields, msg),
  });
  const components: (Stoppable | (() => Promise<void>))[] = [];
  let heartbeat: HeartbeatReporter | undefined;
  let loadTimer: NodeJS.Timeout | undefined;
  let closed = false;
  let server: Server | undefined;
  const closing = async () => {
    await diagnostics.stop();
    await heartbeat?.stop({ deregister: true }).catch(() => undefined);
    server?.close();
    await nc.drain().catch(() => undefined);
    redis.disconnect();
  };
  const { shutdown } = handleShutdown({ logger, telemetry, graceMs: cfg.SHUTDOWN_GRACE_MS, components, exit: opts.exit });
  const rt: StageRuntime = {
    stage,
    cfg,
    logger,
    telemetry,
    tracer: telemetry.tracer,
    names,
    nc,
    jsm,
    publisher: new Publisher(nc),
    redis,
    registry,
    workerName,
    secrets: secretValues(cfg as unknown as Record<string, unknown>),
    onStop(c) {
      // consumers stop before the connections they use
      components.splice(Math.max(0, components.length - 1), 0, c);
    },
    startHeartbeat(snapshot, load) {
      let lastLoad = { pending: 0, lag: 0 };
      const refresh = async () => {
        if (!load) return;
        try {
          lastLoad = await load();
        } catch (e) {
          logger.debug({ err: (e as Error).message }, 'heartbeat load refresh failed');
        }
      };
      heartbeat = new HeartbeatReporter(redis, {
        name: workerName,
        stage,
        version: VERSION,
        intervalMs: cfg.HEARTBEAT_INTERVAL_MS,
        snapshot: () => ({ ...lastLoad, ...snapshot() }),
        onError: (e) => logger.warn({ err: e.message }, 'heartbeat failed'),
      });
      if (load) {
        loadTimer = setInterval(() => void refresh(), cfg.HEARTBEAT_INTERVAL_MS);
        loadTimer.unref();
      }
      // the first beat carries real numbers too
      void refresh().then(() => {
        if (!closed) heartbeat?.start();
      });
    },
    async serveHealth(checks = {}) {
      if (cfg.HEALTH_PORT === undefined) return undefined;
      server = createHealthServer({
        registry,
        checks: {
          nats: () => {
            if (nc.isClosed()) throw new Error('NATS connection closed');
          },
          redis: async () => {
            await redis.ping();
          },
          ...checks,
        },
      });
      return listen(server, cfg.HEALTH_PORT, cfg.HEALTH_HOST);
    },
    dependencyGate(more = []) {
      const gate = new DependencyGate({ dependencies: [redisDependency(redis), ...more], logger });
      components.push(async () => gate.stop());
      return gate;
    },
    shutdown,
  };
  components.push(closing);
  logger.info({ nats: cfg.NATS_URL.replace(/\/\/[^@/]*@/, '//'), exporting_traces: telemetry.exporting }, 'started');
  return rt;
}
