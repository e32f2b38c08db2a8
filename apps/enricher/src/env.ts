import { CommonEnv, env, loadConfig, z } from '@ragline/config';
import { DocStoreSettings } from '@ragline/docstore';
import { ChatSettings } from '@ragline/enrichment';
import { RagTokenizerResourceSettings } from '@ragline/rag-tokenizer';

export const EnricherEnv = CommonEnv.extend({
  ...ChatSettings,
  // tagging reads the tag knowledge bases from the doc store the indexer writes
  ...DocStoreSettings,
  // the tag query (RAGFlow's paragraph()) weighs and expands the chunk's tokens with these, as search does
  ...RagTokenizerResourceSettings,
  ENRICHER_CONCURRENCY: env
    .int(1, 256)
    .default(8)
    .describe('chunk batches enriched at once per replica; their chat calls share the replica-wide `MAX_CONCURRENT_CHATS`'),
});
export type EnricherConfig = z.output<typeof EnricherEnv>;

export const loadEnv = (source?: Record<string, string | undefined>) => loadConfig(EnricherEnv, source);
