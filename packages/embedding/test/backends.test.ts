import { describe, expect, it } from 'vitest';
import { createEmbeddingBackend, createOllamaBackend, createTeiBackend, EmbeddingError } from '../src/index.js';
import { json, serversClosedAfterEach, vecFor, wordCount } from './helpers.js';

const server = serversClosedAfterEach();

const KEY = 'tei-SECRET-key-77';
type TeiBody = { inputs: string[]; truncate: boolean; normalize: boolean; dimensions?: number };
type OllamaBody = { model: string; input: string[]; truncate: boolean; keep_alive?: string };

describe('createTeiBackend (text-embeddings-inference POST /embed)', () => {
  it('sends {inputs, truncate, normalize} and reads number[][] in input order, counting tokens locally', async () => {
    const s = await server((req, res) => json(res, 200, (req.body as unknown as TeiBody).inputs.map((t) => vecFor(t))));
    const b = createTeiBackend({ url: `${s.base}/`, model: 'BAAI/bge-m3', apiKey: KEY, countTokens: wordCount });
    const r = await b.embed(['alpha beta', 'c']);
    expect(s.requests).toHaveLength(1);
    expect(s.requests[0]!.url).toBe('/embed');
    expect(s.requests[0]!.headers.authorization).toBe(`Bearer ${KEY}`);
    expect(s.requests[0]!.body).toEqual({ inputs: ['alpha beta', 'c'], truncate: true, normalize: true });
    expect(r.vectors.map((v) => Array.from(v))).toEqual([vecFor('alpha beta'), vecFor('c')]);
    expect(r.tokens).toBe(3);
    expect(b).toMatchObject({ name: 'tei', model: 'BAAI/bge-m3', maxTokens: 8192 });
    // a base that already names the route is not doubled, and options reach the wire
    const b2 = createTeiBackend({ url: `${s.base}/embed`, model: 'm', truncate: false, normalize: false, dimensions: 2, countTokens: wordCount });
    await b2.embed(['x']);
    expect(s.requests[1]!.url).toBe('/embed');
    expect(s.requests[1]!.body).toEqual({ inputs: ['x'], truncate: false, normalize: false, dimensions: 2 });
  });

  it('fails 422 at once with TEI error and error_type, and retries 424 and 429 (honouring Retry-After)', async () => {
    const bad = await server((_req, res) => json(res, 422, { error: `input is too long (key ${KEY})`, error_type: 'Validation' }));
    const err = (await createTeiBackend({ url: bad.base, model: 'm', apiKey: KEY }).embed(['a']).catch((e: unknown) => e)) as EmbeddingError;
    expect(err).toBeInstanceOf(EmbeddingError);
    expect(err).toMatchObject({ status: 422, retryable: false });
    expect(err.message).toContain('input is too long');
    expect(err.message).toContain('(Validation)');
    expect(err.message).not.toContain(KEY);
    expect(bad.requests).toHaveLength(1);

    const flaky = await server((req, res, n) => {
      if (n === 1) return json(res, 424, { error: 'model failed', error_type: 'Backend' });
      if (n === 2) return json(res, 429, { error: 'overloaded', error_type: 'Overloaded' }, { 'retry-after': '1' });
      json(res, 200, (req.body as unknown as TeiBody).inputs.map((t) => vecFor(t)));
    });
    const r = await createTeiBackend({ url: flaky.base, model: 'm', retryBaseMs: 1, countTokens: wordCount }).embed(['a']);
    expect(r.vectors).toHaveLength(1);
    expect(flaky.requests).toHaveLength(3);
    expect(flaky.requests[2]!.at - flaky.requests[1]!.at).toBeGreaterThanOrEqual(900);
  });

  it('rejects a reply that is not one vector per input', async () => {
    const s = await server((_req, res) => json(res, 200, [[1, 2]]));
    const err = (await createTeiBackend({ url: s.base, model: 'm' }).embed(['a', 'b']).catch((e: unknown) => e)) as EmbeddingError;
    expect(err).toMatchObject({ retryable: false });
    expect(err.message).toMatch(/1 embeddings for 2 inputs/);
  });
});

describe('createOllamaBackend (POST /api/embed)', () => {
  it('sends {model, input, truncate: false} and reads embeddings with prompt_eval_count as tokens', async () => {
    const s = await server((req, res) => {
      const body = req.body as unknown as OllamaBody;
      json(res, 200, { model: body.model, embeddings: body.input.map((t) => vecFor(t)), total_duration: 1, prompt_eval_count: 9 });
    });
    const b = createOllamaBackend({ url: s.base, model: 'bge-m3', keepAlive: '5m' });
    const r = await b.embed(['one', 'two']);
    expect(s.requests[0]!.url).toBe('/api/embed');
    expect(s.requests[0]!.body).toEqual({ model: 'bge-m3', input: ['one', 'two'], truncate: false, keep_alive: '5m' });
    expect(r.vectors.map((v) => Array.from(v))).toEqual([vecFor('one'), vecFor('two')]);
    expect(r.tokens).toBe(9);
    expect(await b.dimension()).toBe(4);
    expect(b).toMatchObject({ name: 'ollama', model: 'bge-m3' });
  });

  it("fails an over-long input with Ollama's message and retries a 500", async () => {
    const s = await server((req, res, n) => {
      if (n === 1) return json(res, 500, { error: 'llama runner process has terminated' });
      if ((req.body as unknown as OllamaBody).input[0] === 'long') return json(res, 400, { error: 'the input length exceeds the context length' });
      json(res, 200, { embeddings: [[0.5, 0.5]] });
    });
    const b = createOllamaBackend({ url: `${s.base}/api/embed`, model: 'm', retryBaseMs: 1, countTokens: wordCount });
    expect((await b.embed(['short'])).tokens).toBe(1);
    expect(s.requests).toHaveLength(2);
    const err = (await b.embed(['long']).catch((e: unknown) => e)) as EmbeddingError;
    expect(err).toMatchObject({ status: 400, retryable: false });
    expect(err.message).toContain('the input length exceeds the context length');
    expect(s.requests).toHaveLength(3);
  });
});

describe('createEmbeddingBackend', () => {
  it('builds each kind from its spec', async () => {
    const s = await server((req, res) => {
      if (req.url === '/embed') return json(res, 200, [[1, 0, 0]]);
      if (req.url === '/api/embed') return json(res, 200, { embeddings: [[1, 0]] });
      json(res, 200, { data: [{ index: 0, embedding: [1] }], usage: { total_tokens: 1 } });
    });
    const dims = await Promise.all(
      (['tei', 'ollama', 'openai'] as const).map((kind) => createEmbeddingBackend({ kind, url: s.base, model: 'm' }, { countTokens: wordCount }).dimension()),
    );
    expect(dims).toEqual([3, 2, 1]);
    const hashing = createEmbeddingBackend({ kind: 'hashing', dimensions: 64 }, { countTokens: wordCount });
    expect(await hashing.dimension()).toBe(64);
    expect(hashing.model).toBe('ragline-hash-64');
    expect(() => createEmbeddingBackend({ kind: 'ollama', url: s.base })).toThrow(/needs "model"/);
    expect(() => createEmbeddingBackend({ kind: 'tei', model: 'm' })).toThrow(/needs "url"/);
  });
});
