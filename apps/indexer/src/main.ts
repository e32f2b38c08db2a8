import { TaskStateStore } from '@ragline/bus';
import { IndexMessage } from '@ragline/contracts';
import { createIndexHandler, docStoreFromConfig } from '@ragline/pipeline/indexer';
import { cancelChecker, progressReporter, startRuntime } from '@ragline/pipeline/runtime';
import { loadEnv } from './env.js';

const cfg = loadEnv();
const rt = await startRuntime('indexer', cfg);
const docstore = docStoreFromConfig(cfg);
// closed only once the consumer has finished or handed back its batches
rt.onShutdown('close', 'docstore', () => docstore.close());
const taskState = await TaskStateStore.open(rt.nc, rt.names.taskStateBucket);
rt.runStage({
  schema: IndexMessage,
  concurrency: cfg.INDEXER_CONCURRENCY,
  // the stage's gate: while Redis is down, stop pulling instead of using up the batches' deliveries
  handler: createIndexHandler({
    docstore,
    taskState,
    publisher: rt.publisher,
    names: rt.names,
    // no cache: a batch that arrives after a cancel must never be written
    isCancelled: cancelChecker(rt.redis, 0),
    progress: progressReporter(rt.publisher, rt.names, 'indexer'),
    logger: rt.logger,
    tracer: rt.tracer,
  }),
});
await rt.serveHealth();
