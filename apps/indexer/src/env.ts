import { CommonEnv, env, loadConfig } from '@ragline/config';
import { DocStoreSettings, DocStoreWriterSettings } from '@ragline/docstore';

export const IndexerEnv = CommonEnv.extend({
  ...DocStoreSettings,
  ...DocStoreWriterSettings,
  // the embedded store merges the batches in hand into one commit (group commit): more at once, fewer commits
  INDEXER_CONCURRENCY: env
    .int(1, 64)
    .default(16)
    .describe('chunk batches written at once per replica (the embedded store merges the batches in hand into one write)'),
});
export const loadEnv = () => loadConfig(IndexerEnv);
