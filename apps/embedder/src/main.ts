import { ChunkBatch } from '@ragline/contracts';
import { createEmbedHandler, createKbDimensionGuard, embeddingRegistryFromConfig, embeddingSecrets } from '@ragline/pipeline/embedder';
import { cancelChecker, startRuntime } from '@ragline/pipeline/runtime';
import { defaultBackendSpec, loadEnv } from './env.js';

const cfg = loadEnv();
// API keys inside EMBEDDING_BACKENDS have no secret-looking setting name: name them to the logger
const rt = await startRuntime('embedder', cfg, { secrets: embeddingSecrets(cfg) });
// the per-embd_id backends, built from the configuration the CLI's search reads too
const registry = embeddingRegistryFromConfig(cfg, { tracer: rt.tracer, logger: rt.logger });
rt.runStage({
  schema: ChunkBatch,
  concurrency: cfg.EMBEDDER_CONCURRENCY,
  // a backend whose circuit is open stops this replica pulling instead of burning redeliveries
  // (the stage's gate does the same while Redis is down)
  canPull: () => registry.canPull(),
  current: (stats) => ({ in_flight: stats.inFlight, breakers: registry.breakerStates() }),
  handler: createEmbedHandler({
    backendFor: (task) => registry.forEmbdId(task.embd_id),
    dims: createKbDimensionGuard(rt.redis),
    publisher: rt.publisher,
    names: rt.names,
    isCancelled: cancelChecker(rt.redis),
    logger: rt.logger,
    tracer: rt.tracer,
  }),
});
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
