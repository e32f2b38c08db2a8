export type { EmbeddingBackend, EmbedResult } from './backend.js';
export { vectorField } from './backend.js';
export { EmbeddingError } from './errors.js';
export { createHashingBackend, hashingVector, type HashingBackendOptions } from './hashing.js';
export { createLocalBackend, localModelStats, LOCAL_MODEL, LOCAL_DIM, type LocalBackendOptions, type LocalModelStats } from './local.js';
export { createOpenAICompatibleBackend, embeddingsEndpoint, type OpenAICompatibleOptions } from './openai.js';
export { createTeiBackend, type TeiOptions } from './tei.js';
export { createOllamaBackend, type OllamaOptions } from './ollama.js';
export { parseRetryAfter, requestTooLarge, serverErrorText, type HttpBackendOptions } from './http.js';
export { CircuitBreaker, CircuitOpenError, type BreakerState, type CircuitBreakerOptions } from './breaker.js';
export { createEmbeddingBackend, BACKEND_KINDS, IN_PROCESS_KINDS, type BackendKind, type BackendSpec } from './factory.js';
export {
  embedTexts,
  embedChunksLikeRagflow,
  ragflowEmbeddingText,
  mixTitle,
  type EmbedTextsOptions,
  type EmbedChunksOptions,
  type EmbedChunksResult,
  type RagflowChunkText,
} from './embed.js';
export { fitsInTokens, type Tokenizer } from './tokens.js';
export { EmbeddingSettings } from './settings.js';
