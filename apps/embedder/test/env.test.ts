import { ConfigError, loadConfig } from '@ragline/config';
import { describe, expect, it } from 'vitest';
import { EmbedderEnv, defaultBackendSpec, loadEnv } from '../src/env.js';

describe('EmbedderEnv', () => {
  it('defaults to the local embedder with RAGFlow batch size', () => {
    const cfg = loadConfig(EmbedderEnv, {});
    expect(cfg).toMatchObject({
      EMBEDDER_CONCURRENCY: 16,
      EMBEDDING_BATCH_SIZE: 16,
      EMBEDDING_MAX_WAIT_MS: 5,
      EMBEDDING_KIND: 'openai',
      EMBEDDING_BREAKER_FAILURES: 5,
      EMBEDDING_CALL_CONCURRENCY: 4,
      EMBEDDING_TIMEOUT_MS: 60_000,
      EMBEDDING_DIM: 1024,
    });
    expect(cfg.EMBEDDING_URL).toBeUndefined();
    // no embedding server: the real in-process model, not hashing
    expect(cfg.EMBEDDING_LOCAL_KIND).toBe('local');
    expect(loadConfig(EmbedderEnv, { EMBEDDING_LOCAL_KIND: 'hashing' }).EMBEDDING_LOCAL_KIND).toBe('hashing');
    expect(() => loadConfig(EmbedderEnv, { EMBEDDING_LOCAL_KIND: 'openai' })).toThrow(expect.objectContaining({ keys: ['EMBEDDING_LOCAL_KIND'] }));
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

  it('defaults to the local model, hashing when asked, and to the configured kind once EMBEDDING_URL is set', () => {
    expect(defaultBackendSpec(loadEnv({}))).toEqual({ kind: 'local' });
    expect(defaultBackendSpec(loadEnv({ EMBEDDING_LOCAL_KIND: 'hashing' }))).toEqual({ kind: 'hashing', dimensions: 1024 });
    const cfg = loadEnv({ EMBEDDING_URL: 'http://tei:8080', EMBEDDING_MODEL: 'bge-m3', EMBEDDING_KIND: 'tei', EMBEDDING_API_KEY: 'k' });
    expect(defaultBackendSpec(cfg)).toEqual({ kind: 'tei', url: 'http://tei:8080', model: 'bge-m3', apiKey: 'k', timeoutMs: 60_000, maxRetries: 4 });
    expect(() => loadEnv({ EMBEDDING_KIND: 'grpc' })).toThrow(expect.objectContaining({ keys: ['EMBEDDING_KIND'] }));
    // the API key is a secret: never echoed
    expect(() => loadEnv({ EMBEDDING_URL: 'http://tei:8080', EMBEDDING_MODEL: 'bge-m3', EMBEDDING_API_KEY: 42 as unknown as string })).toThrow(
      expect.objectContaining({ keys: ['EMBEDDING_API_KEY'], message: expect.not.stringContaining('42') }),
    );
  });

  it('reads EMBEDDING_BACKENDS per embd_id with the shared timeout and retries as defaults', () => {
    const cfg = loadEnv({
      EMBEDDING_TIMEOUT_MS: '5000',
      EMBEDDING_BACKENDS: JSON.stringify({
        'bge-m3@Ollama': { kind: 'ollama', url: 'http://ollama:11434', model: 'bge-m3' },
        'text-embedding-3-small@OpenAI': { kind: 'openai', url: 'https://api.openai.com/v1', model: 'text-embedding-3-small', apiKey: 'sk-1', dimensions: 512, maxRetries: 1 },
      }),
    });
    expect(cfg.backends['bge-m3@Ollama']).toEqual({ kind: 'ollama', url: 'http://ollama:11434', model: 'bge-m3', timeoutMs: 5000, maxRetries: 4 });
    expect(cfg.backends['text-embedding-3-small@OpenAI']).toMatchObject({ dimensions: 512, maxRetries: 1, timeoutMs: 5000 });
  });

  it.each([
    ['not json', /not valid JSON/],
    [JSON.stringify({ a: { kind: 'tei' } }), /a\.url: url is required/],
    [JSON.stringify({ a: { kind: 'ollama', url: 'http://o' } }), /a\.model: model is required/],
    [JSON.stringify({ a: { kind: 'openai', url: 'http://o', model: 'm', apiKey: 'sk-SECRET', colour: 1 } }), /a: Unrecognized key/],
  ])('rejects a bad EMBEDDING_BACKENDS without echoing it: %s', (raw, message) => {
    const err = (() => {
      try {
        loadEnv({ EMBEDDING_BACKENDS: raw });
      } catch (e) {
        return e as ConfigError;
      }
      throw new Error('accepted');
    })();
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.keys).toEqual(['EMBEDDING_BACKENDS']);
    expect(err.message).toMatch(message);
    expect(err.message).not.toContain('sk-SECRET');
  });
});
