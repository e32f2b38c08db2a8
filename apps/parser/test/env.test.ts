import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '@ragline/config';
import { describe, expect, it } from 'vitest';
import { ParserEnv } from '../src/env.js';

describe('ParserEnv', () => {
  it('defaults to RAGFlow-sized limits', () => {
    expect(loadConfig(ParserEnv, {})).toMatchObject({
      PARSER_CONCURRENCY: 2,
      PARSER_MAX_FILE_BYTES: 128 * 1024 * 1024,
      PARSER_BATCH_CHUNKS: 32,
      PARSER_BATCH_BYTES: 256 * 1024,
      SHUTDOWN_GRACE_MS: 25_000,
    });
  });

  it.each([
    ['PARSER_CONCURRENCY', '0'],
    ['PARSER_CONCURRENCY', '65'],
    ['PARSER_BATCH_BYTES', '100'],
    ['PARSER_MAX_FILE_BYTES', '1.5'],
  ])('rejects %s=%s naming the key and the value', (key, value) => {
    const err = (() => {
      try {
        loadConfig(ParserEnv, { [key]: value });
      } catch (e) {
        return e;
      }
      throw new Error('accepted');
    })();
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).keys).toEqual([key]);
    expect((err as ConfigError).message).toContain(`${key}:`);
    expect((err as ConfigError).message).toContain(`(got "${value}")`);
  });

  it('accepts values within range', () => {
    expect(loadConfig(ParserEnv, { PARSER_CONCURRENCY: '64', PARSER_BATCH_CHUNKS: '1' })).toMatchObject({ PARSER_CONCURRENCY: 64, PARSER_BATCH_CHUNKS: 1 });
  });

  it('reads the object storage settings; S3 keys are required with S3_ENDPOINT', () => {
    expect(loadConfig(ParserEnv, {}).S3_ENDPOINT).toBeUndefined();
    expect(() => loadConfig(ParserEnv, { S3_ENDPOINT: 'http://minio:9000', S3_ACCESS_KEY: 'a' })).toThrow(/S3_SECRET_KEY: required when S3_ENDPOINT is set/);
    expect(() => loadConfig(ParserEnv, { S3_ENDPOINT: 'minio:9000' })).toThrow(expect.objectContaining({ keys: ['S3_ENDPOINT'] }));
    expect(loadConfig(ParserEnv, { S3_ENDPOINT: 'http://minio:9000', S3_ACCESS_KEY: 'a', S3_SECRET_KEY: 'b', S3_BUCKET: 'ragflow' })).toMatchObject({ S3_BUCKET: 'ragflow' });
  });

  it('takes RAGFlow tokenizer resources only where they exist, naming the key otherwise', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ragline-res-'));
    const dict = join(dir, 'huqie.txt');
    writeFileSync(dict, '消费者 100 n\n');
    try {
      const cfg = loadConfig(ParserEnv, { RAG_TOKENIZER_DICT: dict, RAGFLOW_RES_DIR: dir, RAG_WORDNET_SYNONYMS: 'off' });
      expect(cfg).toMatchObject({ RAG_TOKENIZER_DICT: dict, RAGFLOW_RES_DIR: dir, RAG_WORDNET_SYNONYMS: false });
      expect(loadConfig(ParserEnv, {}).RAG_WORDNET_SYNONYMS).toBe(true);
      expect(() => loadConfig(ParserEnv, { RAG_TOKENIZER_DICT: join(dir, 'missing.txt') })).toThrow(expect.objectContaining({ keys: ['RAG_TOKENIZER_DICT'] }));
      expect(() => loadConfig(ParserEnv, { RAG_TOKENIZER_DICT: dir })).toThrow(/RAG_TOKENIZER_DICT.*must be an existing file/);
      expect(() => loadConfig(ParserEnv, { RAGFLOW_RES_DIR: dict })).toThrow(/RAGFLOW_RES_DIR.*must be an existing directory/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
