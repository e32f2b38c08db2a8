import { runBatchConsumer } from '@ragline/bus';
import { DeadLetter, PipelineEvent, ragflowQueueNames } from '@ragline/contracts';
import { createDeadLetterHandler, createMonitorServer, createProgressWriter, startRuntime } from '@ragline/pipeline';
import { RedisLock, cleanupDeadWorkers } from '@ragline/redis-queue';
import { listen } from '@ragline/service';
import { createTaskDb } from '@ragline/taskdb';
import { loadEnv } from './env.js';

const cfg = loadEnv();
const rt = await startRuntime('monitor', cfg);
const taskdb = createTaskDb({ url: cfg.MYSQL_URL });
await taskdb.migrate();

const events = runBatchConsumer({
  nc: rt.nc,
  stream: rt.names.streams.events,
  consumer: rt.names.consumers.monitorEvents,
  stage: 'monitor',
  schema: PipelineEvent,
  dlqSubject: rt.names.subjects.dlq('monitor'),
  maxDeliver: cfg.NATS_MAX_DELIVER,
  logger: rt.logger,
  handler: createProgressWriter({ taskdb, logger: rt.logger }),
});
const deadLetters = runBatchConsumer({
  nc: rt.nc,
  stream: rt.names.streams.dlq,
  consumer: rt.names.consumers.monitorDlq,
  stage: 'monitor',
  schema: DeadLetter,
  // a dead letter that cannot be applied is logged, never dead-lettered again
  dlqSubject: `${rt.names.subjectPrefix}.dlq_unprocessable`,
  maxDeliver: cfg.NATS_MAX_DELIVER,
  logger: rt.logger,
  handler: createDeadLetterHandler({ taskdb, logger: rt.logger }),
});

// one monitor at a time removes dead workers (RAGFlow's clean_task_executor lock)
const lock = new RedisLock(rt.redis, 'clean_task_executor', { owner: rt.workerName, ttlMs: 60_000 });
const cleanup = setInterval(() => {
  void (async () => {
    if (!(await lock.acquire())) return;
    const removed = await cleanupDeadWorkers(rt.redis, { timeoutMs: cfg.WORKER_TIMEOUT_MS, except: rt.workerName });
    if (removed.length) rt.logger.info({ removed }, 'removed workers without heartbeat');
  })().catch((e: Error) => rt.logger.warn({ err: e.message }, 'worker cleanup failed'));
}, Math.min(cfg.HEARTBEAT_INTERVAL_MS, 30_000));
cleanup.unref();

const server = createMonitorServer({
  taskdb,
  redis: rt.redis,
  jsm: rt.jsm,
  names: rt.names,
  queues: cfg.RAGFLOW_QUEUES ? cfg.RAGFLOW_QUEUES.split(',') : ragflowQueueNames(cfg.RAGFLOW_QUEUE_NAMING),
  registry: rt.registry,
  token: cfg.MONITOR_TOKEN,
  grafanaUrl: cfg.GRAFANA_URL,
  checks: { mysql: () => taskdb.ping(), redis: async () => void (await rt.redis.ping()) },
});
const port = await listen(server, cfg.MONITOR_PORT, cfg.MONITOR_HOST);
rt.onStop(events);
rt.onStop(deadLetters);
rt.onStop(async () => {
  clearInterval(cleanup);
  await lock.release().catch(() => false);
  server.close();
  await taskdb.close();
});
rt.startHeartbeat(() => ({ pending: 0, lag: 0, done: events.stats.done, failed: events.stats.failed, current: {} }));
rt.logger.info({ port, host: cfg.MONITOR_HOST }, 'monitor listening');
