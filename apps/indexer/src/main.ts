import { TaskStateStore, runConsumer } from '@ragline/bus';
import { IndexMessage } from '@ragline/contracts';
import { createIndexHandler, docStoreFromConfig } from '@ragline/pipeline/indexer';
import { InFlightTasks, cancelChecker, consumerLoad, progressReporter, startRuntime } from '@ragline/pipeline/runtime';
import { loadEnv } from './env.js';

const cfg = loadEnv();
const rt = await startRuntime('indexer', cfg);
const docstore = docStoreFromConfig(cfg);
const inFlight = new InFlightTasks();
// while Redis is down, stop pulling instead of using up the batches' deliveries
const gate = rt.dependencyGate();
const taskState = await TaskStateStore.open(rt.nc, rt.names.taskStateBucket);
const consumer = runConsumer({
  nc: rt.nc,
  stream: rt.names.streams.index,
  consumer: rt.names.consumers.indexer,
  stage: 'indexer',
  schema: IndexMessage,
  concurrency: cfg.INDEXER_CONCURRENCY,
  maxDeliver: cfg.NATS_MAX_DELIVER,
  dlqSubject: rt.names.subjects.dlq('indexer'),
  logger: rt.logger,
  tracer: rt.tracer,
  canPull: gate.canPull,
  handler: gate.guard(inFlight.wrap(createIndexHandler({
    docstore,
    taskState,
    publisher: rt.publisher,
    names: rt.names,
    // no cache: a batch that arrives after a cancel must never be written
    isCancelled: cancelChecker(rt.redis, 0),
    progress: progressReporter(rt.publisher, rt.names, 'indexer'),
    logger: rt.logger,
    tracer: rt.tracer,
  }), (m) => m.task)),
});
rt.onStop(consumer);
rt.onStop(() => docstore.close());
rt.startHeartbeat(
  () => ({ done: consumer.stats.done, failed: consumer.stats.failed, current: inFlight.snapshot() }),
  consumerLoad(rt.jsm, rt.names.streams.index, rt.names.consumers.indexer),
);
await rt.serveHealth();
