import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { createChatRegistry, type ChatBackendSpec, type ChatRegistryOptions } from '../src/index.js';

/** Tests use Redis DB 14 on the machine's server; keys are RAGFlow's bare hashes, so each test's model name is unique. */
export const REDIS_URL = process.env.ENRICHMENT_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/14';

export function testRedis(): Redis {
  return new Redis(REDIS_URL, { lazyConnect: false, maxRetriesPerRequest: 1 });
}

export const uniqueModel = (prefix = 'model') => `${prefix}-${randomUUID().slice(0, 8)}`;

export function fastSpec(url: string, model: string, over: Partial<ChatBackendSpec> = {}): ChatBackendSpec {
  return { baseUrl: url, model, timeoutMs: 2000, maxRetries: 2, retryBaseMs: 5, maxRetryDelayMs: 2000, ...over };
}

/** A registry whose only backend serves `llmId` (by its llm_name). */
export function registryFor(url: string, model: string, over: Partial<ChatRegistryOptions> = {}, spec: Partial<ChatBackendSpec> = {}) {
  return createChatRegistry({ backends: { [model]: fastSpec(url, model, spec) }, breaker: { failureThreshold: 5, cooldownMs: 200, maxWaitMs: 2000 }, ...over });
}
