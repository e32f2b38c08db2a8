export { ChatSettings } from './settings.js';
export { ChatError, ChatCircuitOpenError, UnknownChatModelError, EnrichmentCancelledError } from './errors.js';
export { createChatModel, removeReasoning, CHAT_ROUTE, type ChatBackendSpec, type ChatKind, type ChatModel, type ChatModelOptions, type ChatRequest } from './chat.js';
export {
  createChatRegistry,
  chatRegistryFromConfig,
  parseChatBackends,
  defaultChatSpec,
  chatSecrets,
  ragflowLlmName,
  type ChatRegistry,
  type ChatRegistryOptions,
  type ResolvedChatModel,
} from './registry.js';
export { LlmCache, llmCacheKey, tagsCacheKey, parseTagSet, LLM_CACHE_TTL_S, TAGS_CACHE_TTL_S, type TagSet } from './cache.js';
export { stripThinking, isErrorAnswer, parseJsonAnswer, ERROR_MARKER } from './answer.js';
export { xxh64Hex } from './hash.js';
export { parseKeywords } from './features/keywords.js';
export { parseQuestions } from './features/questions.js';
export { turn2jsonschema, buildMetadataConfig, updateMetadataTo } from './features/metadata.js';
export { tagShares, scoreTags, parseTagAnswer, pythonRound, loadTagSet, TAG_FLD, TAG_S, TAG_QUERY_KEYWORDS, type TagSource, type TagCounts, type TagQuery, type TagExample } from './features/tags.js';
export { createTagQueryBuilder, type TagMatchQuery, type TagQueryBuilder, type TagQueryBuilderOptions } from './features/tag-query.js';
export { splitForToc, buildTocChunk, tocFromTexts } from './features/toc.js';
export type { EnrichChunk } from './features/context.js';
export {
  createEnricher,
  TagSourceMissingError,
  type Enricher,
  type EnricherDeps,
  type EnrichTask,
  type EnrichBatchInput,
  type EnrichBatchResult,
  type BuildTocInput,
} from './enricher.js';
