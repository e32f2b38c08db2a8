import { ConfigError, loadConfig } from '@ragline/config';
import { describe, expect, it } from 'vitest';
import { BridgeEnv } from '../src/env.js';

function keysRejected(source: Record<string, string>): string[] {
  try {
    loadConfig(BridgeEnv, source);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    expect((e as ConfigError).message).toMatch(/^invalid configuration: /);
    return (e as ConfigError).keys;
  }
  throw new Error(`accepted ${JSON.stringify(source)}`);
}

describe('BridgeEnv', () => {
  it('reads the current RAGFlow queue names by default', () => {
    const cfg = loadConfig(BridgeEnv, {});
    expect(cfg).toMatchObject({
      RAGFLOW_QUEUE_NAMING: 'current',
      BRIDGE_CLAIM_IDLE_MS: 300_000,
      BRIDGE_BATCH: 16,
      BRIDGE_BLOCK_MS: 2000,
      REDIS_URL: 'redis://127.0.0.1:6379/1',
    });
    expect(cfg.RAGFLOW_QUEUES).toBeUndefined();
    expect(cfg.BRIDGE_FORWARD_STREAM).toBeUndefined();
  });

  it('accepts legacy naming and an explicit stream list; an empty list means unset', () => {
    expect(loadConfig(BridgeEnv, { RAGFLOW_QUEUE_NAMING: 'legacy', RAGFLOW_QUEUES: 'q1,q0' })).toMatchObject({ RAGFLOW_QUEUE_NAMING: 'legacy', RAGFLOW_QUEUES: 'q1,q0' });
    expect(loadConfig(BridgeEnv, { RAGFLOW_QUEUES: '' }).RAGFLOW_QUEUES).toBeUndefined();
  });

  it('rejects an unknown queue naming', () => {
    expect(keysRejected({ RAGFLOW_QUEUE_NAMING: 'v2' })).toEqual(['RAGFLOW_QUEUE_NAMING']);
  });

  it.each(['q1,,q0', 'q1, q0', ',q1', 'q1,'])('rejects the malformed stream list %j', (queues) => {
    expect(keysRejected({ RAGFLOW_QUEUES: queues })).toEqual(['RAGFLOW_QUEUES']);
  });

  it('names every bad key at once', () => {
    expect(keysRejected({ BRIDGE_BATCH: '0', BRIDGE_BLOCK_MS: '5' }).sort()).toEqual(['BRIDGE_BATCH', 'BRIDGE_BLOCK_MS']);
  });
});
