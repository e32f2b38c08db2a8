import { env, z, type Settings } from '@ragline/config';

/**
 * The chat settings the enricher reads: which OpenAI-compatible chat server serves each knowledge
 * base's `llm_id`, how many calls a replica runs at once, and the client's timeouts and retries.
 */
export const ChatSettings = {
  CHAT_BASE_URL: env
    .optional(env.url(['http', 'https']))
    .describe(
      "default OpenAI-compatible chat server (`/v1/chat/completions` is appended unless the URL ends in it); it serves the `llm_id`s whose model name (RAGFlow's `llm_name`, the part before `@factory`) is `CHAT_MODEL`, and tasks with an empty `llm_id`",
    ),
  CHAT_MODEL: env.optional(z.string().min(1)).meta({ description: 'model name sent to `CHAT_BASE_URL`', requiredWhen: 'CHAT_BASE_URL' }),
  CHAT_API_KEY: env.optional(z.string()).describe('API key for `CHAT_BASE_URL` (sent as a bearer token, never logged)'),
  CHAT_BACKENDS: env
    .optional(z.string())
    .describe(
      'JSON: `llm_id` (`model@factory`, or just the model name) → `{base_url, model, api_key?, timeout_ms?, max_retries?, max_input_tokens?}`; an `llm_id` neither here nor served by `CHAT_MODEL` fails its task (never silently another model)',
    ),
  MAX_CONCURRENT_CHATS: env
    .int(1, 1024)
    .default(10)
    .describe("chat calls in flight per replica, shared by every batch and task (RAGFlow's `MAX_CONCURRENT_CHATS`)"),
  CHAT_TIMEOUT_MS: env.int(100).default(120_000).describe('per-attempt timeout of one chat call'),
  CHAT_MAX_RETRIES: env
    .int(0, 20)
    .default(4)
    .describe('retries of one chat call on 429/5xx/timeouts/network errors (exponential back-off with jitter, `Retry-After` honoured) before the batch is handed back'),
  CHAT_BREAKER_FAILURES: env.int(1, 1000).default(5).describe("consecutive failed chat calls that open a backend's circuit"),
  CHAT_BREAKER_COOLDOWN_MS: env.int(100).default(15_000).describe('open circuit cool-down before one probe call'),
  CHAT_MAX_INPUT_TOKENS: env
    .int(256)
    .default(8192)
    .describe("prompt budget in tokens (RAGFlow's model `max_length`): longer chunk texts are cut to fit, as RAGFlow's `message_fit_in`"),
};
export type ChatSettings = Settings<typeof ChatSettings>;
