import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { DeadLetter, PipelineEvent, ragflowQueueNames } from '@ragline/contracts';
import {
  Lease,
  StageSampler,
  TaskInfoStore,
  cleanupWorkers,
  createDeadLetterHandler,
  createMonitorMetrics,
  createMonitorServer,
  createProgressWriter,
  taskDbDependency,
  lockOwner,
  queueAheadCounter,
  recoverUnheldTasks,
} from '@ragline/pipeline/monitor';
import { startRuntime } from '@ragline/pipeline/runtime';
import { RedisLock } from '@ragline/redis-queue';
import { listen } from '@ragline/service';
import { createTaskDb } from '@ragline/taskdb';
import { loadEnv } from './env.js';

const cfg = loadEnv();
const rt = await startRuntime('monitor', cfg);
const taskdb = createTaskDb({ url: cfg.MYSQL_URL });
await taskdb.migrate();
const queues = cfg.RAGFLOW_QUEUES ? cfg.RAGFLOW_QUEUES.split(',') : ragflowQueueNames(cfg.RAGFLOW_QUEUE_NAMING);
const metrics = createMonitorMetrics(rt.registry);
const info = new TaskInfoStore(rt.redis);
// while MySQL (or Redis) is down, stop fetching events instead of using up their deliveries
const gate = rt.dependencyGate([taskDbDependency(taskdb)]);
if (cfg.STUCK_TASK_MS < cfg.NATS_DUPLICATE_WINDOW_MS) {
  // the bridge republishes a re-enqueued task with the same message id: inside the window JetStream drops it
  rt.logger.warn({ STUCK_TASK_MS: cfg.STUCK_TASK_MS, NATS_DUPLICATE_WINDOW_MS: cfg.NATS_DUPLICATE_WINDOW_MS }, 'STUCK_TASK_MS is below the dedupe window');
}

// both inputs behind the one gate: a MySQL outage pauses events and dead letters alike
rt.runBatchStage({
  schema: PipelineEvent,
  gate,
  handler: createProgressWriter({ taskdb, logger: rt.logger, info, metrics }),
});
// a dead letter that cannot be applied is logged and terminated (it stays in the DLQ stream), never dead-lettered again
rt.runBatchStage({
  input: 'dead-letters',
  schema: DeadLetter,
  gate,
  handler: createDeadLetterHandler({ taskdb, logger: rt.logger, info, metrics }),
});

// One monitor at a time does the cluster-wide chores (RAGFlow's clean_task_executor lock); the
// lease renews the lock while held, and only its holder releases it.
const lease = new Lease(new RedisLock(rt.redis, 'clean_task_executor', { owner: lockOwner(rt.workerName), ttlMs: 60_000 }), {
  logger: rt.logger,
  onChange: (held) => rt.logger.info({ held }, held ? 'took the monitor lock' : 'monitor lock released or lost'),
});
lease.start();

function every(ms: number, what: string, job: (signal: AbortSignal) => Promise<void>): NodeJS.Timeout {
  let busy = false;
  const t = setInterval(() => {
    if (busy) return;
    busy = true;
    lease
      .run(job)
      .catch((e: Error) => rt.logger.warn({ err: e.message }, `${what} failed`))
      .finally(() => (busy = false));
  }, ms);
  t.unref();
  return t;
}
const timers = [
  every(Math.min(cfg.HEARTBEAT_INTERVAL_MS, 30_000), 'worker cleanup', async () => {
    const { removed } = await cleanupWorkers(rt.redis, { timeoutMs: cfg.WORKER_TIMEOUT_MS, except: rt.workerName });
    if (removed.length) rt.logger.info({ removed }, 'removed workers without heartbeat');
  }),
  every(cfg.STUCK_CHECK_MS, 'stuck-task pass', async () => {
    const r = await recoverUnheldTasks(
      { taskdb, redis: rt.redis, jsm: rt.jsm, names: rt.names, queues, logger: rt.logger },
      { olderThanMs: cfg.STUCK_TASK_MS, maxRetries: cfg.STUCK_MAX_RETRIES },
    );
    if (r.requeued.length) metrics.tasksRequeued.inc({ reason: 'stuck' }, r.requeued.length);
    if (r.failed.length) metrics.taskFailures.inc({ stage: 'monitor', reason: 'stuck' }, r.failed.length);
  }),
  every(cfg.MONITOR_SYNC_MS, 'document sync', async () => {
    await taskdb.syncDocuments(undefined, { queueAhead: await queueAheadCounter(rt.redis, queues) });
  }),
];

const sampler = new StageSampler(
  { jsm: rt.jsm, names: rt.names, redis: rt.redis, queues },
  { intervalMs: cfg.MONITOR_SAMPLE_MS, metrics, logger: rt.logger, workerTimeoutMs: cfg.WORKER_TIMEOUT_MS },
);
sampler.start();

const dashboardDir = cfg.MONITOR_DASHBOARD_DIR ?? join(dirname(createRequire(import.meta.url).resolve('@ragline/dashboard/package.json')), 'dist');
const server = createMonitorServer({
  taskdb,
  redis: rt.redis,
  jsm: rt.jsm,
  names: rt.names,
  queues,
  registry: rt.registry,
  token: cfg.MONITOR_TOKEN,
  grafanaUrl: cfg.GRAFANA_URL,
  grafanaTempoUid: cfg.GRAFANA_TEMPO_UID,
  info,
  sampler,
  workerTimeoutMs: cfg.WORKER_TIMEOUT_MS,
  dashboardDir,
  checks: {
    mysql: () => taskdb.ping(),
    redis: async () => void (await rt.redis.ping()),
    nats: () => {
      if (rt.nc.isClosed()) throw new Error('NATS connection closed');
    },
  },
});
const port = await listen(server, cfg.MONITOR_PORT, cfg.MONITOR_HOST);
// after the consumers: the last batches still write through taskdb, the chores hold the lock
rt.onShutdown('close', 'monitor chores and API', async () => {
  for (const t of timers) clearInterval(t);
  await sampler.stop();
  await lease.stop();
  server.close();
  await taskdb.close();
});
rt.logger.info({ port, host: cfg.MONITOR_HOST, dashboard: dashboardDir }, 'monitor listening');
