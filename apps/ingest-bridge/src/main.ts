import { setTimeout as sleep } from 'node:timers/promises';
import { RAGFLOW, ragflowQueueNames } from '@ragline/contracts';
import { createBridge } from '@ragline/pipeline/bridge';
import { cancelChecker, startRuntime } from '@ragline/pipeline/runtime';
import { RagflowQueueConsumer, RagflowQueueProducer, queueStats } from '@ragline/redis-queue';
import { createTaskDb } from '@ragline/taskdb';
import { loadEnv } from './env.js';

const cfg = loadEnv();
const rt = await startRuntime('bridge', cfg);
const taskdb = createTaskDb({ url: cfg.MYSQL_URL });
const streams = cfg.RAGFLOW_QUEUES ? cfg.RAGFLOW_QUEUES.split(',') : ragflowQueueNames(cfg.RAGFLOW_QUEUE_NAMING);
const queue = new RagflowQueueConsumer(rt.redis, {
  streams,
  group: RAGFLOW.consumerGroup,
  consumer: rt.workerName,
  claimIdleMs: cfg.BRIDGE_CLAIM_IDLE_MS,
  batchSize: cfg.BRIDGE_BATCH,
  blockMs: cfg.BRIDGE_BLOCK_MS,
});
await queue.ensureGroups();
const producer = new RagflowQueueProducer(rt.redis);
const bridge = createBridge({
  queue,
  taskdb,
  publisher: rt.publisher,
  names: rt.names,
  isCancelled: cancelChecker(rt.redis),
  logger: rt.logger,
  tracer: rt.tracer,
  forward: cfg.BRIDGE_FORWARD_STREAM
    ? { stream: cfg.BRIDGE_FORWARD_STREAM, enqueue: (stream, message, trace) => producer.enqueue(stream, message, trace) }
    : undefined,
});
const stop = new AbortController();
const running = bridge.run(stop.signal);
// the bridge's intake is RAGFlow's Redis streams: it stops reading, finishes the entries in hand
// (publish, then XACK) within the grace period, and only then are MySQL, Redis and NATS closed;
// an entry left unacked stays in the group's pending list and is re-read or claimed
rt.onShutdown('intake', 'ragflow queues', () => stop.abort());
rt.onShutdown('in-flight', 'ragflow queues', async (graceLeftMs) => {
  const finished = await Promise.race([running.then(() => true), sleep(graceLeftMs, false, { ref: false })]);
  if (!finished) rt.logger.warn({ grace_ms: graceLeftMs }, 'bridge still handing off at the end of the grace period');
});
rt.onShutdown('close', 'taskdb', () => taskdb.close());
rt.startHeartbeat(
  () => ({ done: bridge.stats.published, failed: bridge.stats.errors, current: {} }),
  // RAGFlow reports its group's pending and lag; the bridge reads every priority stream, so their sum
  async () => {
    const all = await Promise.all(streams.map((s) => queueStats(rt.redis, s, RAGFLOW.consumerGroup)));
    return { pending: all.reduce((n, q) => n + q.pending, 0), lag: all.reduce((n, q) => n + (q.lag ?? 0), 0) };
  },
);
await rt.serveHealth({ mysql: () => taskdb.ping() });
rt.logger.info({ streams }, 'bridge consuming RAGFlow queues');
