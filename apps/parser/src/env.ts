import { CommonEnv, env, loadConfig, z } from '@ragline/config';

export const ParserEnv = CommonEnv.extend({
  PARSER_CONCURRENCY: env.int(1, 64).default(2),
  /** RAGFlow's MAX_CONTENT_LENGTH default: 128 MiB */
  PARSER_MAX_FILE_BYTES: env.int(1).default(128 * 1024 * 1024),
  PARSER_BATCH_CHUNKS: env.int(1, 1000).default(32),
  PARSER_BATCH_BYTES: env.int(1024, 8 * 1024 * 1024).default(256 * 1024),
  /** a task whose parse runs longer fails with "parsing exceeded the N s time limit" (not retried) */
  PARSER_TIMEOUT_MS: env.int(100).default(10 * 60_000),
  /** heap ceiling of a parse worker process; a parse over it fails the task (not retried) */
  PARSER_MAX_HEAP_MB: env.int(128, 64 * 1024).default(512),
});
export const loadEnv = () => loadConfig(ParserEnv);
