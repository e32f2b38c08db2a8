import { runConsumer } from '@ragline/bus';
import { ChunkBatch } from '@ragline/contracts';
import { createEmbedHandler, createKbDimensionGuard, embeddingRegistryFromConfig } from '@ragline/pipeline/embedder';
import { InFlightTasks, cancelChecker, consumerLoad, startRuntime } from '@ragline/pipeline/runtime';
import { defaultBackendSpec, loadEnv } from './env.js';

const cfg = loadEnv();
const rt = await startRuntime('embedder', cfg);
// the per-embd_id backends, built from the configuration the CLI's search reads too
const registry = embeddingRegistryFromConfig(cfg, { tracer: rt.tracer, logger: rt.logger });
const inFlight = new InFlightTasks();
// while Redis is down, stop pulling instead of using up the batches' deliveries
const gate = rt.dependencyGate();
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
  // a backend whose circuit is open stops this replica pulling instead of burning redeliveries
  canPull: () => registry.canPull() && gate.canPull(),
  handler: gate.guard(inFlight.wrap(createEmbedHandler({
    backendFor: (task) => registry.forEmbdId(task.embd_id),
    dims: createKbDimensionGuard(rt.redis),
    publisher: rt.publisher,
    names: rt.names,
    isCancelled: cancelChecker(rt.redis),
    logger: rt.logger,
    tracer: rt.tracer,
  }), (m) => m.task)),
});
rt.onStop(consumer);
rt.startHeartbeat(
  () => ({
    done: consumer.stats.done,
    failed: consumer.stats.failed,
    current: { ...inFlight.snapshot(), in_flight: consumer.stats.inFlight, breakers: registry.breakerStates() },
  }),
  consumerLoad(rt.jsm, rt.names.streams.chunks, rt.names.consumers.embedder),
);
await rt.serveHealth({
  embedding: () => {
    const open = Object.entries(registry.breakerStates()).filter(([, s]) => s === 'open');
    if (open.length) throw new Error(`embedding circuit open for ${open.map(([k]) => k).join(', ')}`);
  },
});
rt.logger.info(
  { default: { kind: defaultBackendSpec(cfg).kind, model: defaultBackendSpec(cfg).model }, configured: Object.keys(cfg.backends), batch: cfg.EMBEDDING_BATCH_SIZE },
  'embedder ready',
);
