import { runConsumer } from '@ragline/bus';
import { TaskMessage } from '@ragline/contracts';
import { cancelChecker, createParseHandler, objectStoreFromConfig, progressReporter, startRuntime } from '@ragline/pipeline';
import { loadEnv } from './env.js';

const cfg = loadEnv();
const rt = await startRuntime('parser', cfg);
const store = objectStoreFromConfig(cfg);
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
  handler: createParseHandler({
    store,
    publisher: rt.publisher,
    names: rt.names,
    isCancelled: cancelChecker(rt.redis),
    progress: progressReporter(rt.publisher, rt.names, 'parser'),
    logger: rt.logger,
    tracer: rt.tracer,
    limits: { maxFileBytes: cfg.PARSER_MAX_FILE_BYTES, batchChunks: cfg.PARSER_BATCH_CHUNKS, batchBytes: cfg.PARSER_BATCH_BYTES },
  }),
});
rt.onStop(consumer);
rt.startHeartbeat(() => ({ pending: 0, lag: 0, done: consumer.stats.done, failed: consumer.stats.failed, current: {} }));
await rt.serveHealth({ storage: () => store.health() });
