import { loadConfig, CommonEnv } from '@ragline/config';
import { describe, expect, it } from 'vitest';
import { embeddingBackendFromConfig } from '../src/index.js';

describe('embeddingBackendFromConfig', () => {
  it('uses the hashing embedder without EMBEDDING_URL and the configured server kind with it', () => {
    const base = loadConfig(CommonEnv, {});
    expect(embeddingBackendFromConfig(base).model).toBe('ragline-hash-1024');
    const withUrl = loadConfig(CommonEnv, { EMBEDDING_URL: 'http://127.0.0.1:1', EMBEDDING_MODEL: 'bge-m3' });
    expect(embeddingBackendFromConfig(withUrl).name).toMatch(/openai/i);
    expect(embeddingBackendFromConfig({ ...withUrl, EMBEDDING_KIND: 'tei' }).name).toMatch(/tei/i);
    expect(embeddingBackendFromConfig({ ...withUrl, EMBEDDING_KIND: 'ollama' }).name).toMatch(/ollama/i);
  });
});
