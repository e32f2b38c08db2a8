import { TaskStateStore, runConsumer } from '@ragline/bus';
import { IndexMessage } from '@ragline/contracts';
import { cancelChecker, createIndexHandler, docStoreFromConfig, progressReporter, startRuntime } from '@ragline/pipeline';
import { loadEnv } from './env.js';

const cfg = loadEnv();
const rt = await startRuntime('indexer', cfg);
const docstore = docStoreFromConfig(cfg);
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
  handler: createIndexHandler({
    docstore,
    taskState,
    publisher: rt.publisher,
    names: rt.names,
    isCancelled: cancelChecker(rt.redis),
    progress: progressReporter(rt.publisher, rt.names, 'indexer'),
    logger: rt.logger,
    tracer: rt.tracer,
  }),
});
rt.onStop(consumer);
rt.onStop(() => docstore.close());
rt.startHeartbeat(() => ({ pending: 0, lag: 0, done: consumer.stats.done, failed: consumer.stats.failed, current: {} }));
await rt.serveHealth();
