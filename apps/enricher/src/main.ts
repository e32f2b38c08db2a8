import { ChunkBatch } from '@ragline/contracts';
import type { DocStore } from '@ragline/docstore';
import { chatRegistryFromConfig, chatSecrets, createEnricher, createTagQueryBuilder, type ChatRegistry } from '@ragline/enrichment';
import { createEnrichHandler } from '@ragline/pipeline/enricher';
import { docStoreFromConfig } from '@ragline/pipeline/indexer';
import { cancelChecker, progressReporter, startRuntime } from '@ragline/pipeline/runtime';
import { configureRagTokenizer } from '@ragline/rag-tokenizer';
import { loadEnv } from './env.js';

const cfg = loadEnv();
// the same dictionary and resources as the parser, so keyword and question tokens match the chunks'
configureRagTokenizer({ dictionary: cfg.RAG_TOKENIZER_DICT, resourcesDir: cfg.RAGFLOW_RES_DIR, wordnetSynonyms: cfg.RAG_WORDNET_SYNONYMS });
// API keys inside CHAT_BACKENDS have no secret-looking setting name: name them to the logger
const rt = await startRuntime('enricher', cfg, { secrets: chatSecrets(cfg) });
// the registry checks CHAT_BACKENDS now (a bad one stops the start) but builds a chat client only
// for the first batch that needs it; the enricher and the doc store wait for that batch too, so a
// replica that only passes batches through never connects to either
const registry: ChatRegistry = chatRegistryFromConfig(cfg, { logger: rt.logger });
let docstore: DocStore | undefined;
rt.onShutdown('close', 'docstore', () => docstore?.close());
rt.runStage({
  schema: ChunkBatch,
  concurrency: cfg.ENRICHER_CONCURRENCY,
  // a chat backend whose circuit is open stops this replica pulling instead of burning redeliveries
  canPull: () => registry.canPull(),
  current: (stats) => ({ in_flight: stats.inFlight, breakers: registry.breakerStates() }),
  handler: createEnrichHandler({
    enricher: () =>
      createEnricher({
        registry,
        redis: rt.redis,
        // tagging reads the tag knowledge bases from the store the indexer writes
        tagSource: {
          allTagCounts: (tenantId, kbIds) => (docstore ??= docStoreFromConfig(cfg)).allTagCounts(tenantId, kbIds),
          matchingTagCounts: (tenantId, kbIds, query) => (docstore ??= docStoreFromConfig(cfg)).matchingTagCounts(tenantId, kbIds, query),
        },
        tagQuery: createTagQueryBuilder({ resourcesDir: cfg.RAGFLOW_RES_DIR, wordnetSynonyms: cfg.RAG_WORDNET_SYNONYMS }),
        tracer: rt.tracer,
        logger: rt.logger,
      }),
    publisher: rt.publisher,
    names: rt.names,
    isCancelled: cancelChecker(rt.redis),
    progress: progressReporter(rt.publisher, rt.names, 'enricher'),
    redis: rt.redis,
    logger: rt.logger,
    tracer: rt.tracer,
  }),
});
await rt.serveHealth({
  chat: () => {
    const open = Object.entries(registry.breakerStates()).filter(([, s]) => s === 'open');
    if (open.length) throw new Error(`chat circuit open for ${open.map(([k]) => k).join(', ')}`);
  },
});
rt.logger.info({ default_chat_model: cfg.CHAT_MODEL ?? null, concurrency: cfg.ENRICHER_CONCURRENCY, max_concurrent_chats: cfg.MAX_CONCURRENT_CHATS }, 'enricher ready');
