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
});
