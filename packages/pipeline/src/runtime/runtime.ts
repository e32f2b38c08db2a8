import type { Server } from 'node:http';
import { Publisher, connectNats, ensureTopology, type JetStreamManager, type NatsConnection } from '@ragline/bus';
import { secretValues, type CommonEnv } from '@ragline/config';
import { topologyNames, type Stage, type TopologyNames } from '@ragline/contracts';
import { HeartbeatReporter, createRedis } from '@ragline/redis-queue';
import { createHealthServer, createMetricsRegistry, handleShutdown, listen, type ReadinessCheck, type Stoppable } from '@ragline/service';
import { createLogger, startTelemetry, type Logger, type Telemetry, type Tracer } from '@ragline/telemetry';
import type { Redis } from 'ioredis';
import type { Registry } from 'prom-client';

export const VERSION = '0.1.0';

export interface HeartbeatSnapshot {
  pending: number;
  lag: number;
  done: number;
  failed: number;
  current: Record<string, unknown>;
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
  startHeartbeat(snapshot: () => HeartbeatSnapshot): void;
  serveHealth(checks?: Record<string, ReadinessCheck>): Promise<number | undefined>;
  shutdown(reason: string): Promise<void>;
}

/**
 * Everything a stage process needs before it can work: telemetry, logs, NATS (with the topology
 * ensured), Redis, heartbeats, health endpoints and the SIGTERM drain. Apps call this and add
 * their consumer.
 */
export async function startRuntime(stage: Stage, cfg: CommonEnv, opts: { exit?: (code: number) => void } = {}): Promise<StageRuntime> {
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
    replicas: cfg.NATS_STREAM_REPLICAS,
  });
  const redis = createRedis({ url: cfg.REDIS_URL, keyPrefix: cfg.REDIS_KEY_PREFIX });
  const registry = createMetricsRegistry({ stage, worker: workerName });
  const components: (Stoppable | (() => Promise<void>))[] = [];
  let heartbeat: HeartbeatReporter | undefined;
  let server: Server | undefined;
  const closing = async () => {
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
    startHeartbeat(snapshot) {
      heartbeat = new HeartbeatReporter(redis, { name: workerName, stage, version: VERSION, intervalMs: cfg.HEARTBEAT_INTERVAL_MS, snapshot });
      heartbeat.start();
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
    shutdown,
  };
  components.push(closing);
  logger.info({ nats: cfg.NATS_URL.replace(/\/\/[^@/]*@/, '//'), exporting_traces: telemetry.exporting }, 'started');
  return rt;
}
