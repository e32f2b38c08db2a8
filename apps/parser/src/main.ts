import { runConsumer } from '@ragline/bus';
import { TaskMessage } from '@ragline/contracts';
import { configureTokenizer, createParseHandler, objectStoreDependency, objectStoreFromConfig } from '@ragline/pipeline/parser';
import { InFlightTasks, cancelChecker, consumerLoad, progressReporter, startRuntime } from '@ragline/pipeline/runtime';
import { loadEnv } from './env.js';

const cfg = loadEnv();
configureTokenizer(cfg);
const rt = await startRuntime('parser', cfg);
const store = objectStoreFromConfig(cfg);
const inFlight = new InFlightTasks();
// while the object store or Redis is down, stop pulling instead of using up the tasks' deliveries
const gate = rt.dependencyGate([objectStoreDependency(store)]);
const consumer = runConsumer({
  nc: rt.nc,
  stream: rt.names.streams.tasks,
  consumer: rt.names.consumers.parser,
  stage: 'parser',
  schema: TaskMessage,
  concurrency: cfg.PARSER_CONCURRENCY,
  maxDeliver: cfg.NATS_MAX_DELIVER,
  dlqSubject: rt.names.subjects.dlq('parser'),
  logger: rt.logger,
  tracer: rt.tracer,
  canPull: gate.canPull,
  handler: gate.guard(inFlight.wrap(createParseHandler({
    store,
    publisher: rt.publisher,
    names: rt.names,
    isCancelled: cancelChecker(rt.redis),
    progress: progressReporter(rt.publisher, rt.names, 'parser'),
    logger: rt.logger,
    tracer: rt.tracer,
    limits: {
      maxFileBytes: cfg.PARSER_MAX_FILE_BYTES,
      batchChunks: cfg.PARSER_BATCH_CHUNKS,
      batchBytes: cfg.PARSER_BATCH_BYTES,
      parseTimeoutMs: cfg.PARSER_TIMEOUT_MS,
      parseMaxHeapMb: cfg.PARSER_MAX_HEAP_MB,
    },
  }), (m) => m.task)),
});
rt.onStop(consumer);
rt.startHeartbeat(
  () => ({ done: consumer.stats.done, failed: consumer.stats.failed, current: inFlight.snapshot() }),
  consumerLoad(rt.jsm, rt.names.streams.tasks, rt.names.consumers.parser),
);
await rt.serveHealth({ storage: () => store.health() });
