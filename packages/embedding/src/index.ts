export type { EmbeddingBackend, EmbedResult } from './backend.js';
export { vectorField } from './backend.js';
export { EmbeddingError } from './errors.js';
export { createHashingBackend, hashingVector, type HashingBackendOptions } from './hashing.js';
export { createOpenAICompatibleBackend, embeddingsEndpoint, parseRetryAfter, type OpenAICompatibleOptions } from './openai.js';
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
export type { Tokenizer } from './tokens.js';
