import { ConfigError } from '@ragline/config';
import { chatRegistryFromConfig } from '@ragline/enrichment';
import { describe, expect, it } from 'vitest';
import { loadEnv } from '../src/env.js';

describe('EnricherEnv', () => {
  it("defaults to RAGFlow's MAX_CONCURRENT_CHATS and no chat server (batches that ask for nothing need none)", () => {
    const cfg = loadEnv({});
    expect(cfg).toMatchObject({ ENRICHER_CONCURRENCY: 8, MAX_CONCURRENT_CHATS: 10 });
    expect(cfg.CHAT_BASE_URL).toBeUndefined();
    expect(cfg.ELASTICSEARCH_URL).toBeUndefined();
    // a registry without backends is fine to build: only a task with an llm_id fails
    expect(chatRegistryFromConfig(cfg).canPull()).toBe(true);
  });

  it.each([
    ['ENRICHER_CONCURRENCY', '0'],
    ['ENRICHER_CONCURRENCY', 'many'],
    ['MAX_CONCURRENT_CHATS', '-3'],
    ['CHAT_BASE_URL', 'ftp://chat'],
  ])('rejects %s=%s naming the key', (key, value) => {
    expect(() => loadEnv({ [key]: value })).toThrow(ConfigError);
    expect(() => loadEnv({ [key]: value })).toThrow(expect.objectContaining({ keys: [key] }));
  });

  it("reads the tokenizer resources the parser reads, for the tag query's weights and synonyms", () => {
    expect(loadEnv({}).RAG_WORDNET_SYNONYMS).toBe(true);
    expect(loadEnv({ RAG_WORDNET_SYNONYMS: 'false', RAGFLOW_RES_DIR: '/tmp' })).toMatchObject({ RAG_WORDNET_SYNONYMS: false, RAGFLOW_RES_DIR: '/tmp' });
    expect(() => loadEnv({ RAGFLOW_RES_DIR: '/nonexistent/rag/res' })).toThrow(expect.objectContaining({ keys: ['RAGFLOW_RES_DIR'] }));
    expect(() => loadEnv({ RAG_TOKENIZER_DICT: '/nonexistent/huqie.txt' })).toThrow(expect.objectContaining({ keys: ['RAG_TOKENIZER_DICT'] }));
  });

  it('stops the start on a CHAT_BACKENDS that is not valid, naming it', () => {
    expect(() => chatRegistryFromConfig(loadEnv({ CHAT_BACKENDS: '{not json' }))).toThrow(expect.objectContaining({ keys: ['CHAT_BACKENDS'] }));
  });
});
