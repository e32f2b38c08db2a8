import { once } from 'node:events';
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
import type { z } from 'zod';
import { redisDependency } from './dependencies.js';
import { ShutdownPhases, type ShutdownPhase, type ShutdownStep } from './lifecycle.js';
import {
  runBatchStage,
  runStage,
  type BatchStageOptions,
  type HeartbeatCounters,
  type HeartbeatLoad,
  type RunningBatchStage,
  type RunningStage,
  type StageOptions,
} from './stage.js';

export const VERSION = '0.1.0';

export type { HeartbeatSnapshot };

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
  /** the SIGTERM drain; components register into a phase (see SHUTDOWN_PHASES) */
  lifecycle: ShutdownPhases;
  /** registers `step` in `phase` of the drain, e.g. `onShutdown('close', 'docstore', () => docstore.close())` */
  onShutdown(phase: ShutdownPhase, name: string, step: ShutdownStep): void;
  /** a consumer-like component: stops taking work in `intake`, finishes or hands back in `in-flight` */
  stopOnShutdown(name: string, s: Stoppable): void;
  /** the stage's per-message consumer, wired from the stage (see runStage) */
  runStage<S extends z.ZodType>(opts: StageOptions<S>): RunningStage;
  /** one of the stage's batch consumers, wired from the stage (see runBatchStage) */
  runBatchStage<S extends z.ZodType>(opts: BatchStageOptions<S>): RunningBatchStage;
  /** heartbeats every HEARTBEAT_INTERVAL_MS; `load` (refreshed on the same period) fills pending/lag */
  startHeartbeat(snapshot: () => HeartbeatCounters, load?: HeartbeatLoad): void;
  serveHealth(checks?: Record<string, ReadinessCheck>): Promise<number | undefined>;
  /**
   * A gate that stops this stage's consumers pulling while Redis or one of `more` (MySQL, the object
   * store) is down, so an outage does not use up the messages' deliveries; stopped in `close`.
   */
  dependencyGate(more?: Dependency[]): DependencyGate;
  shutdown(reason: string): Promise<void>;
}

/**
 * Everything a stage process needs before it can work: telemetry, logs, NATS (with the topology
 * ensured), Redis, heartbeats, health endpoints and the SIGTERM drain. Apps call this and add
 * their consumer (runStage / runBatchStage) and what else they own, each in its shutdown phase.
 */
export async function startRuntime(
  stage: Stage,
  cfg: CommonEnv,
  opts: {
    exit?: (code: number) => void;
    /** secret values no setting name gives away (API keys inside CHAT_BACKENDS / EMBEDDING_BACKENDS JSON), scrubbed from logs and fatal errors */
    secrets?: readonly string[];
  } = {},
): Promise<StageRuntime> {
  const secrets = [...secretValues(cfg as unknown as Record<string, unknown>), ...(opts.secrets ?? [])];
  installFatalHandler({ service: `ragline-${stage}`, secrets });
  const telemetry = startTelemetry({ serviceName: `ragline-${stage}`, serviceVersion: VERSION });
  const workerName = `ragline_${stage}_${cfg.RAGLINE_REPLICA}`;
  const logger = createLogger({ service: `ragline-${stage}`, level: cfg.LOG_LEVEL, base: { stage, worker: workerName }, secrets });
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
  const lifecycle = new ShutdownPhases({ logger });
  let heartbeat: HeartbeatReporter | undefined;
  let loadTimer: NodeJS.Timeout | undefined;
  let closed = false;
  let server: Server | undefined;
  // what the runtime itself owns; the apps add their consumers and stores around it
  lifecycle.add('close', 'heartbeat', async () => {
    closed = true;
    if (loadTimer) clearInterval(loadTimer);
    // RAGFlow's worker list drops this replica now rather than after WORKER_TIMEOUT_MS; a Redis
    // outage only delays that until the monitor's cleanup, so it does not fail the drain
    await heartbeat?.stop({ deregister: true }).catch((e: Error) => logger.warn({ err: e.message }, 'heartbeat deregistration failed'));
  });
  lifecycle.add('close', 'health server', () => closeServer(server));
  lifecycle.add('close', 'diagnostics', () => diagnostics.stop());
  // drain flushes what the consumers' last acks and naks left in the outbound buffer
  lifecycle.add('drain', 'nats', () => (nc.isClosed() ? undefined : nc.drain()));
  lifecycle.add('drain', 'redis', () => quitRedis(redis));
  lifecycle.add('telemetry', 'telemetry', () => telemetry.shutdown());
  // telemetry is the last phase rather than handleShutdown's own flush, so every step is in one plan
  const { shutdown } = handleShutdown({ logger, graceMs: cfg.SHUTDOWN_GRACE_MS, components: lifecycle.components(), exit: opts.exit });
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
    secrets,
    lifecycle,
    onShutdown: (phase, name, step) => lifecycle.add(phase, name, step),
    stopOnShutdown: (name, s) => lifecycle.addStoppable(name, s),
    runStage: (o) => runStage(rt, o),
    runBatchStage: (o) => runBatchStage(rt, o),
    startHeartbeat(snapshot, load) {
      // one worker entry per process: a second reporter would overwrite the first's numbers
      if (heartbeat) throw new Error('the heartbeat is already started');
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
      lifecycle.add('close', 'dependency gate', () => gate.stop());
      return gate;
    },
    shutdown,
  };
  logger.info({ nats: cfg.NATS_URL.replace(/\/\/[^@/]*@/, '//'), exporting_traces: telemetry.exporting }, 'started');
  return rt;
}

function closeServer(server: Server | undefined): Promise<void> | undefined {
  if (!server?.listening) return undefined;
  return new Promise((resolve) => {
    // health answers are tiny: no need to wait for a scraper's keep-alive connection
    server.closeAllConnections();
    server.close(() => resolve());
  });
}

/** QUIT when connected (replies still owed arrive first); a client that is not connected just stops reconnecting. */
async function quitRedis(redis: Redis): Promise<void> {
  if (redis.status !== 'ready') {
    redis.disconnect();
    return;
  }
  const ended = once(redis, 'end');
  try {
    await redis.quit();
  } catch {
    redis.disconnect();
  }
  // QUIT's reply comes before the socket closes: the drain is over when the client says it ended
  if ((redis.status as string) !== 'end') await ended;
}
