export { createRedis, redactRedisUrl, type CreateRedisOptions } from './connection.js';
export { QueueError, isBusyGroupError, isMissingStreamError, isRedisUnavailable, redisErrorCode, toQueueError } from './errors.js';
export { pythonJsonDumps, pythonFloatRepr, PythonFloat, pyFloat } from './json.js';
export {
  RagflowQueueConsumer,
  RAGFLOW_CONSUMER_GROUP,
  type QueueEntry,
  type RagflowQueueConsumerOptions,
  type ConsumerCounters,
} from './consumer.js';
export { RagflowQueueProducer, type EnqueueOptions, type RagflowQueueProducerOptions } from './producer.js';
export { isCancelled, cancelTask, cancelKey } from './cancel.js';
export { queueStats, type QueueStats } from './stats.js';
export {
  HeartbeatReporter,
  listWorkers,
  cleanupDeadWorkers,
  pythonIsoFormat,
  WORKER_SET_KEY,
  type Heartbeat,
  type HeartbeatSnapshot,
  type HeartbeatReporterOptions,
  type WorkerInfo,
} from './workers.js';
export { RedisLock, type RedisLockOptions } from './lock.js';
export { RagflowQueueSettings } from './settings.js';
