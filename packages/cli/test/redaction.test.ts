import { describe, expect, it } from 'vitest';
import { loadCliConfig, redactForTerminal } from '../src/context.js';

describe('the CLI terminal output', () => {
  it('hides the API keys inside EMBEDDING_BACKENDS, the named secrets and URL passwords of the loaded config', () => {
    const key = 'sk-cli-embedding-7788';
    loadCliConfig({
      EMBEDDING_BACKENDS: JSON.stringify({ 'bge@A': { kind: 'openai', url: 'http://emb.local', model: 'bge', apiKey: key } }),
      EMBEDDING_API_KEY: 'sk-default-4455',
      REDIS_URL: 'redis://app:r3dis-pw@127.0.0.1:6379/0',
    });
    const err = `embedding failed: 401 {"error":"invalid key ${key}"}; default sk-default-4455; redis://app:r3dis-pw@127.0.0.1:6379/0`;
    const out = redactForTerminal(err);
    for (const s of [key, 'sk-default-4455', 'r3dis-pw']) expect(out).not.toContain(s);
    expect(out).toBe('embedding failed: 401 {"error":"invalid key [redacted]"}; default [redacted]; redis://app:[redacted]@127.0.0.1:6379/0');
  });
});
