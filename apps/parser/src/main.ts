import { TaskMessage } from '@ragline/contracts';
import { configureTokenizer, createParseHandler, objectStoreDependency, objectStoreFromConfig } from '@ragline/pipeline/parser';
import { cancelChecker, progressReporter, startRuntime } from '@ragline/pipeline/runtime';
import { loadEnv } from './env.js';

const cfg = loadEnv();
configureTokenizer(cfg);
const rt = await startRuntime('parser', cfg);
const store = objectStoreFromConfig(cfg);
rt.runStage({
  schema: TaskMessage,
  concurrency: cfg.PARSER_CONCURRENCY,
  // while the object store or Redis is down, stop pulling instead of using up the tasks' deliveries
  dependencies: [objectStoreDependency(store)],
  handler: createParseHandler({
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
      ocrConcurrency: cfg.PARSER_OCR_CONCURRENCY,
    },
  }),
});
await rt.serveHealth({ storage: () => store.health() });
