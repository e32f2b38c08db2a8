import { CommonEnv, env, loadConfig, z } from '@ragline/config';

export const ParserEnv = CommonEnv.extend({
  PARSER_CONCURRENCY: env.int(1, 64).default(2),
  /** RAGFlow's MAX_CONTENT_LENGTH default: 128 MiB */
  PARSER_MAX_FILE_BYTES: env.int(1).default(128 * 1024 * 1024),
  PARSER_BATCH_CHUNKS: env.int(1, 1000).default(32),
  PARSER_BATCH_BYTES: env.int(1024, 8 * 1024 * 1024).default(256 * 1024),
});
export const loadEnv = () => loadConfig(ParserEnv);
