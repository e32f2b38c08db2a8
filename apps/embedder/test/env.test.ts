import { ConfigError, loadConfig } from '@ragline/config';
import { describe, expect, it } from 'vitest';
import { EmbedderEnv } from '../src/env.js';

describe('EmbedderEnv', () => {
  it('defaults to the local embedder with RAGFlow batch size', () => {
    const cfg = loadConfig(EmbedderEnv, {});
    expect(cfg).toMatchObject({
      EMBEDDER_CONCURRENCY: 4,
      EMBEDDING_BATCH_SIZE: 16,
      EMBEDDING_CALL_CONCURRENCY: 4,
      EMBEDDING_TIMEOUT_MS: 60_000,
      EMBEDDING_DIM: 1024,
    });
    expect(cfg.EMBEDDING_URL).toBeUndefined();
  });

  it.each([
    ['EMBEDDING_BATCH_SIZE', '-1'],
    ['EMBEDDING_BATCH_SIZE', '4096'],
    ['EMBEDDING_CALL_CONCURRENCY', 'many'],
    ['EMBEDDING_TIMEOUT_MS', '50'],
  ])('rejects %s=%s naming the key', (key, value) => {
    expect(() => loadConfig(EmbedderEnv, { [key]: value })).toThrow(ConfigError);
    expect(() => loadConfig(EmbedderEnv, { [key]: value })).toThrow(expect.objectContaining({ keys: [key] }));
  });

  it('requires EMBEDDING_MODEL once EMBEDDING_URL is set', () => {
    expect(() => loadConfig(EmbedderEnv, { EMBEDDING_URL: 'http://127.0.0.1:9/v1' })).toThrow(expect.objectContaining({ keys: ['EMBEDDING_MODEL'] }));
    expect(loadConfig(EmbedderEnv, { EMBEDDING_URL: 'http://127.0.0.1:9/v1', EMBEDDING_MODEL: 'bge-m3' }).EMBEDDING_MODEL).toBe('bge-m3');
  });
});
