import { CommonEnv, env, loadConfig } from '@ragline/config';

export const IndexerEnv = CommonEnv.extend({
  INDEXER_CONCURRENCY: env.int(1, 64).default(2),
});
export const loadEnv = () => loadConfig(IndexerEnv);
