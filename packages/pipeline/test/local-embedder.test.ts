import { CommonEnv, loadConfig } from '@ragline/config';
import { createLocalBackend, localModelStats } from '@ragline/embedding';
import { describe, expect, it } from 'vitest';
import { EmbeddingEnvShape, createEmbeddingRegistry, defaultBackendSpec, defaultEmbdId, embeddingRegistryFromConfig, embeddingSecrets, parseBackends } from '../src/index.js';
import { logger } from './support/stage-env.js';

// The pipeline's only test file that loads the real local model: the others use hashing or a fake server.

const Env = CommonEnv.extend(EmbeddingEnvShape);
const cfgOf = (env: Record<string, string> = {}) => loadConfig(Env, env);
const dot = (a: Float32Array, b: Float32Array): number => a.reduce((s, x, i) => s + x * b[i]!, 0);

describe('the default embedding backend', () => {
  it('is the local model with no EMBEDDING_URL, hashing only when asked, and the server once a URL is set', () => {
    expect(defaultBackendSpec(cfgOf())).toEqual({ kind: 'local' });
    expect(defaultEmbdId(cfgOf())).toBe('universal-sentence-encoder-lite@Ragline');
    expect(defaultBackendSpec(cfgOf({ EMBEDDING_LOCAL_KIND: 'hashing', EMBEDDING_DIM: '64' }))).toEqual({ kind: 'hashing', dimensions: 64 });
    expect(defaultEmbdId(cfgOf({ EMBEDDING_LOCAL_KIND: 'hashing', EMBEDDING_DIM: '64' }))).toBe('ragline-hash-64@Ragline');
    const server = cfgOf({ EMBEDDING_URL: 'http://tei:8080', EMBEDDING_MODEL: 'bge-m3', EMBEDDING_LOCAL_KIND: 'hashing' });
    expect(defaultBackendSpec(server)).toMatchObject({ kind: 'openai', url: 'http://tei:8080', model: 'bge-m3' });
    expect(defaultEmbdId(server)).toBe('bge-m3@OpenAI-API-Compatible');
  });

  it('accepts local in EMBEDDING_BACKENDS without url or model, but not another vector size', () => {
    const defaults = { EMBEDDING_TIMEOUT_MS: 1000, EMBEDDING_MAX_RETRIES: 0 };
    expect(parseBackends(JSON.stringify({ 'use@Local': { kind: 'local', batchSize: 4 } }), defaults)['use@Local']).toMatchObject({ kind: 'local', batchSize: 4 });
    expect(() => parseBackends(JSON.stringify({ 'use@Local': { kind: 'local', dimensions: 384 } }), defaults)).toThrow(/use@Local\.dimensions: the local model returns 512-dim vectors/);
    expect(() => parseBackends(JSON.stringify({ a: { kind: 'openai' } }), defaults)).toThrow(/a\.url: url is required/);
  });

  it('collects the API keys inside EMBEDDING_BACKENDS for the logs to scrub, and the default one', () => {
    const backends = JSON.stringify({ 'bge@A': { kind: 'openai', url: 'http://a', model: 'bge', apiKey: 'sk-emb-a' }, 'h@R': { kind: 'hashing' } });
    expect(embeddingSecrets(cfgOf({ EMBEDDING_BACKENDS: backends, EMBEDDING_API_KEY: 'sk-default' }))).toEqual(['sk-default', 'sk-emb-a']);
    expect(embeddingSecrets(cfgOf())).toEqual([]);
    // a broken EMBEDDING_BACKENDS fails the start elsewhere; collecting secrets must not throw first
    expect(embeddingSecrets({ ...cfgOf(), EMBEDDING_BACKENDS: '{not json' })).toEqual([]);
  });

  it('keeps a knowledge base embedded with hashing on hashing when EMBEDDING_BACKENDS maps its embd_id back', async () => {
    const reg = embeddingRegistryFromConfig(
      cfgOf({ EMBEDDING_BACKENDS: JSON.stringify({ 'ragline-hash-1024@Ragline': { kind: 'hashing', dimensions: 1024 } }) }),
    );
    const old = reg.forEmbdId('ragline-hash-1024@Ragline');
    expect(old.name).toBe('hashing');
    expect(await old.dimension()).toBe(1024);
    expect(reg.forEmbdId('universal-sentence-encoder-lite@Ragline').name).toBe('local');
  });
});

describe('the local model behind the registry', () => {
  it('serves concurrent batches of several tasks with one model: merged calls, one inference at a time, breaker closed', async () => {
    const before = localModelStats();
    const reg = embeddingRegistryFromConfig(
      cfgOf({
        EMBEDDING_BATCH_SIZE: '8',
        EMBEDDING_MAX_WAIT_MS: '20',
        EMBEDDING_CALL_CONCURRENCY: '4',
        // a second key on the same model: its own coalescer and breaker, the same weights
        EMBEDDING_BACKENDS: JSON.stringify({ 'use@Other': { kind: 'local' } }),
      }),
      { logger },
    );
    const kbs = ['universal-sentence-encoder-lite@Ragline', 'anything@Unlisted', 'use@Other'];
    const topics = ['invoices', 'volcanoes', 'football', 'violins', 'tax law', 'gardening', 'satellites', 'bread', 'chess'];
    const actions = ['are explained', 'cost money', 'need care', 'were discussed at length', 'changed in 1990'];
    const batches = topics.map((topic, i) => ({ embdId: kbs[i % 3]!, texts: actions.map((a) => `Notes on ${topic}: ${a}.`) }));
    const reference = (await createLocalBackend().embed(batches.flatMap((b) => b.texts))).vectors;
    expect(await reg.forEmbdId(kbs[0]!).dimension()).toBe(512);
    const results = await Promise.all(batches.map((b) => reg.forEmbdId(b.embdId).embed(b.texts)));

    results.forEach((r, i) => {
      expect(r.vectors).toHaveLength(5);
      expect(r.tokens).toBeGreaterThan(0);
      // each caller gets its own texts' vectors back, in order: the nearest reference is its own text
      r.vectors.forEach((v, k) => {
        expect(v.length).toBe(512);
        const scores = reference.map((ref) => dot(v, ref));
        expect(scores.indexOf(Math.max(...scores))).toBe(i * 5 + k);
        expect(scores[i * 5 + k]).toBeGreaterThan(0.9999);
      });
    });
    const after = localModelStats();
    expect(after.loads).toBe(Math.max(1, before.loads));
    expect(after.maxConcurrent).toBe(1);
    // two keys built (the unlisted embd_id shares "default"); calls were merged across tasks
    expect(reg.entries().map((e) => e.key).sort()).toEqual(['default', 'use@Other']);
    const def = reg.entries().find((e) => e.key === 'default')!;
    expect(def.backend.stats.requests).toBe(6);
    expect(def.backend.stats.calls).toBeLessThan(6);
    expect(def.backend.stats.sharedCalls).toBeGreaterThan(0);
    expect(reg.breakerStates()).toEqual({ default: 'closed', 'use@Other': 'closed' });
  });

  it('hashing stays an explicit choice and never loads the model', async () => {
    const before = localModelStats();
    const reg = createEmbeddingRegistry({ defaultSpec: defaultBackendSpec(cfgOf({ EMBEDDING_LOCAL_KIND: 'hashing', EMBEDDING_DIM: '32' })) });
    const r = await reg.forEmbdId('x@Y').embed(['a', 'b']);
    expect(r.vectors[0]!.length).toBe(32);
    expect(reg.entries()[0]!.backend.name).toBe('hashing');
    expect(localModelStats().inferences).toBe(before.inferences);
  });
});
