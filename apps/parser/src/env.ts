import { CommonEnv, env, loadConfig } from '@ragline/config';
import { ParsingSettings, RagTokenizerResourceSettings } from '@ragline/parsing';
import { StorageSettings } from '@ragline/storage';

export const ParserEnv = CommonEnv.extend({
  ...StorageSettings,
  ...RagTokenizerResourceSettings,
  ...ParsingSettings,
  PARSER_CONCURRENCY: env.int(1, 64).default(2).describe('tasks parsed at once per replica'),
  PARSER_MAX_FILE_BYTES: env
    .int(1)
    .default(128 * 1024 * 1024)
    .describe("larger files fail with a clear message (RAGFlow's `MAX_CONTENT_LENGTH` default: 128 MiB)"),
  PARSER_BATCH_CHUNKS: env.int(1, 1000).default(32).describe('chunks per chunk batch message'),
  PARSER_BATCH_BYTES: env
    .int(1024, 8 * 1024 * 1024)
    .default(256 * 1024)
    .describe("bytes per chunk batch message (messages stay under the server's max payload)"),
  PARSER_TIMEOUT_MS: env
    .int(100)
    .default(10 * 60_000)
    .describe('time limit of one task\'s parse; over it the task fails ("parsing exceeded the 600 s time limit"), not retried'),
  PARSER_MAX_HEAP_MB: env
    .int(128, 64 * 1024)
    .default(512)
    .describe('heap ceiling of a parse worker process; over it the task fails ("parsing exceeded the memory limit of 512 MB"), not retried'),
});
export const loadEnv = () => loadConfig(ParserEnv);
