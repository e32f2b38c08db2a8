import { ConfigError, loadConfig } from '@ragline/config';
import { describe, expect, it } from 'vitest';
import { IndexerEnv } from '../src/env.js';

describe('IndexerEnv', () => {
  it('defaults to 16 concurrent index writes and the embedded doc store', () => {
    const cfg = loadConfig(IndexerEnv, {});
    expect(cfg.INDEXER_CONCURRENCY).toBe(16);
    expect(cfg.ELASTICSEARCH_URL).toBeUndefined();
    expect(cfg.RAGLINE_DATA_DIR).toBe('.ragline-data');
    expect(cfg.DOC_BULK_SIZE).toBe(32);
    expect(cfg.DOC_BULK_MAX_BYTES).toBe(8 * 1024 * 1024);
    expect([cfg.LANCEDB_INDEX_CACHE_MB, cfg.LANCEDB_METADATA_CACHE_MB]).toEqual([32, 16]);
  });

  it('reads the Elasticsearch settings and RAGFlow Docker bulk size', () => {
    const cfg = loadConfig(IndexerEnv, { ELASTICSEARCH_URL: 'http://es:9200', ES_USERNAME: 'elastic', ES_PASSWORD: 'pw', DOC_BULK_SIZE: '4' });
    expect(cfg).toMatchObject({ ELASTICSEARCH_URL: 'http://es:9200', ES_USERNAME: 'elastic', ES_PASSWORD: 'pw', DOC_BULK_SIZE: 4 });
  });

  it.each([
    ['INDEXER_CONCURRENCY', 'x'],
    ['INDEXER_CONCURRENCY', '0'],
    ['ELASTICSEARCH_URL', 'es.local:9200'],
    ['DOC_BULK_SIZE', '0'],
    ['LANCEDB_INDEX_CACHE_MB', '0'],
    ['LANCEDB_METADATA_CACHE_MB', 'lots'],
  ])('rejects %s=%s naming the key', (key, value) => {
    let err: unknown;
    try {
      loadConfig(IndexerEnv, { [key]: value });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).keys).toEqual([key]);
    expect((err as ConfigError).message).toContain(key);
  });

  it('accepts a concurrency in range', () => {
    expect(loadConfig(IndexerEnv, { INDEXER_CONCURRENCY: '64' }).INDEXER_CONCURRENCY).toBe(64);
  });
});
