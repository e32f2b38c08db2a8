import { runConsumer } from '@ragline/bus';
import { ChunkBatch } from '@ragline/contracts';
import { cancelChecker, createEmbedHandler, embeddingBackendFromConfig, startRuntime } from '@ragline/pipeline';
import { loadEnv } from './env.js';

const cfg = loadEnv();
const rt = await startRuntime('embedder', cfg);
const backend = embeddingBackendFromConfig(cfg);
const consumer = runConsumer({
  nc: rt.nc,
  stream: rt.names.streams.chunks,
  consumer: rt.names.consumers.embedder,
  stage: 'embedder',
  schema: ChunkBatch,
  concurrency: cfg.EMBEDDER_CONCURRENCY,
  maxDeliver: cfg.NATS_MAX_DELIVER,
  dlqSubject: rt.names.subjects.dlq('embedder'),
  logger: rt.logger,
  tracer: rt.tracer,
  handler: createEmbedHandler({
    backend,
    publisher: rt.publisher,
    names: rt.names,
    isCancelled: cancelChecker(rt.redis),
    logger: rt.logger,
    tracer: rt.tracer,
    batchSize: cfg.EMBEDDING_BATCH_SIZE,
    concurrency: cfg.EMBEDDING_CALL_CONCURRENCY,
  }),
});
rt.onStop(consumer);
rt.startHeartbeat(() => ({ pending: 0, lag: 0, done: consumer.stats.done, failed: consumer.stats.failed, current: {} }));
await rt.serveHealth();
rt.logger.info({ backend: backend.name, model: backend.model }, 'embedder ready');
