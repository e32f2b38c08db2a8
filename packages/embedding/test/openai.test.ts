import { describe, expect, it } from 'vitest';
import { createOpenAICompatibleBackend, EmbeddingError, embeddingsEndpoint, parseRetryAfter } from '../src/index.js';
import { json, okReply, serversClosedAfterEach, startServer, vecFor, wordCount } from './helpers.js';

const server = serversClosedAfterEach();

const KEY = 'sk-test-SECRET-4242';

describe('embeddingsEndpoint', () => {
  it('appends /v1/embeddings once', () => {
    expect(embeddingsEndpoint('http://h:8080')).toBe('http://h:8080/v1/embeddings');
    expect(embeddingsEndpoint('http://h:8080/')).toBe('http://h:8080/v1/embeddings');
    expect(embeddingsEndpoint('https://api.x.com/v1')).toBe('https://api.x.com/v1/embeddings');
    expect(embeddingsEndpoint('https://api.x.com/v1/')).toBe('https://api.x.com/v1/embeddings');
    expect(embeddingsEndpoint('http://h/v1/embeddings')).toBe('http://h/v1/embeddings');
  });

  it('parses Retry-After seconds and HTTP dates', () => {
    expect(parseRetryAfter('2')).toBe(2000);
    const now = Date.parse('Tue, 01 Jan 2030 00:00:00 GMT');
    expect(parseRetryAfter('Tue, 01 Jan 2030 00:00:03 GMT', now)).toBe(3000);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter(null)).toBeUndefined();
  });
});

describe('createOpenAICompatibleBackend', () => {
  it('sends the OpenAI request shape with bearer auth and returns vectors in input order', async () => {
    const s = await server((req, res) => okReply(res, req.body.input));
    const b = createOpenAICompatibleBackend({ url: `${s.base}/v1`, model: 'bge-m3', apiKey: KEY, dimensions: 4 });
    const r = await b.embed(['alpha', 'be', 'c']);
    expect(s.requests).toHaveLength(1);
    const req = s.requests[0]!;
    expect(req.url).toBe('/v1/embeddings');
    expect(req.headers.authorization).toBe(`Bearer ${KEY}`);
    expect(req.headers['content-type']).toBe('application/json');
    expect(req.body).toEqual({ model: 'bge-m3', input: ['alpha', 'be', 'c'], encoding_format: 'float', dimensions: 4 });
    expect(r.vectors.map((v) => Array.from(v))).toEqual([vecFor('alpha'), vecFor('be'), vecFor('c')]);
    expect(r.vectors[0]).toBeInstanceOf(Float32Array);
    expect(r.tokens).toBe(7);
    expect(b.name).toBe('openai-compatible');
    expect(b.model).toBe('bge-m3');
    expect(b.maxTokens).toBe(8191);
  });

  it('omits auth and dimensions when not configured and falls back to prompt_tokens, then to counting', async () => {
    let usage: Record<string, number> | null = { prompt_tokens: 11 };
    const s = await server((req, res) => okReply(res, req.body.input, usage));
    const b = createOpenAICompatibleBackend({ url: s.base, model: 'm', countTokens: wordCount });
    expect((await b.embed(['x'])).tokens).toBe(11);
    expect(s.requests[0]!.headers.authorization).toBeUndefined();
    expect(s.requests[0]!.body).not.toHaveProperty('dimensions');
    usage = null;
    expect((await b.embed(['one two three', 'four'])).tokens).toBe(4);
  });

  it('accepts base64 float32 embeddings', async () => {
    const s = await server((req, res) => {
      const data = req.body.input.map((t, index) => ({
        index,
        embedding: Buffer.from(Float32Array.from(vecFor(t)).buffer).toString('base64'),
      }));
      json(res, 200, { data, usage: { total_tokens: 3 } });
    });
    const b = createOpenAICompatibleBackend({ url: s.base, model: 'm' });
    const r = await b.embed(['hello', 'you']);
    expect(r.vectors.map((v) => Array.from(v))).toEqual([vecFor('hello'), vecFor('you')]);
  });

  it('honours Retry-After on 429, then succeeds', async () => {
    const s = await server((req, res, n) => {
      if (n === 1) return json(res, 429, { error: { message: 'rate limited' } }, { 'retry-after': '1' });
      okReply(res, req.body.input);
    });
    const b = createOpenAICompatibleBackend({ url: s.base, model: 'm', retryBaseMs: 1 });
    const r = await b.embed(['a']);
    expect(r.vectors).toHaveLength(1);
    expect(s.requests).toHaveLength(2);
    const waited = s.requests[1]!.at - s.requests[0]!.at;
    // retryBaseMs alone would wait ~1 ms; the server asked for 1 s.
    expect(waited).toBeGreaterThanOrEqual(900);
    expect(waited).toBeLessThan(5000);
  });

  it('retries 500s with back-off until the server recovers', async () => {
    const s = await server((req, res, n) => {
      if (n <= 2) return json(res, 500, { error: 'internal' });
      okReply(res, req.body.input);
    });
    const b = createOpenAICompatibleBackend({ url: s.base, model: 'm', retryBaseMs: 5 });
    await b.embed(['a', 'b']);
    expect(s.requests).toHaveLength(3);
  });

  it('gives up after maxRetries with a retryable error', async () => {
    const s = await server((_req, res) => json(res, 503, { message: 'overloaded' }));
    const b = createOpenAICompatibleBackend({ url: s.base, model: 'm', retryBaseMs: 1, maxRetries: 2 });
    const err = await b.embed(['a']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EmbeddingError);
    expect(err).toMatchObject({ status: 503, retryable: true });
    expect((err as Error).message).toContain('overloaded');
    expect(s.requests).toHaveLength(3);
  });

  it('fails a 400 at once with the server message, never echoing the API key', async () => {
    const s = await server((_req, res) =>
      json(res, 400, { error: { message: `input too long for model; key ${KEY} was used`, type: 'invalid_request_error' } }),
    );
    const b = createOpenAICompatibleBackend({ url: s.base, model: 'm', apiKey: KEY, retryBaseMs: 1 });
    const err = (await b.embed(['a']).catch((e: unknown) => e)) as EmbeddingError;
    expect(err).toBeInstanceOf(EmbeddingError);
    expect(err.status).toBe(400);
    expect(err.retryable).toBe(false);
    expect(err.message).toContain('input too long for model');
    expect(err.message).not.toContain(KEY);
    expect(JSON.stringify(err, Object.getOwnPropertyNames(err))).not.toContain(KEY);
    expect(s.requests).toHaveLength(1);
  });

  it('treats 401 as permanent and truncates long plain-text bodies to 500 chars', async () => {
    const s = await server((_req, res) => {
      res.writeHead(401, { 'content-type': 'text/plain' });
      res.end(`bad key ${KEY} ` + 'x'.repeat(2000));
    });
    const b = createOpenAICompatibleBackend({ url: s.base, model: 'm', apiKey: KEY });
    const err = (await b.embed(['a']).catch((e: unknown) => e)) as EmbeddingError;
    expect(err.retryable).toBe(false);
    expect(err.status).toBe(401);
    expect(err.message).toContain('bad key ***');
    expect(err.message).not.toContain(KEY);
    expect(err.message.length).toBeLessThan(700);
    expect(s.requests).toHaveLength(1);
  });

  it('turns a timeout into a retryable error after retrying', async () => {
    const s = await server(async (req, res) => {
      await new Promise((r) => setTimeout(r, 400));
      if (!res.destroyed) okReply(res, req.body.input);
    });
    const b = createOpenAICompatibleBackend({ url: s.base, model: 'm', timeoutMs: 100, maxRetries: 1, retryBaseMs: 1 });
    const started = Date.now();
    const err = (await b.embed(['a']).catch((e: unknown) => e)) as EmbeddingError;
    expect(err).toBeInstanceOf(EmbeddingError);
    expect(err.retryable).toBe(true);
    expect(err.message).toMatch(/timed out after 100 ms/);
    expect(s.requests).toHaveLength(2);
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it('reports connection failures as retryable', async () => {
    const s = await startServer(() => undefined);
    await s.close();
    const b = createOpenAICompatibleBackend({ url: s.base, model: 'm', maxRetries: 1, retryBaseMs: 1 });
    const err = (await b.embed(['a']).catch((e: unknown) => e)) as EmbeddingError;
    expect(err).toBeInstanceOf(EmbeddingError);
    expect(err.retryable).toBe(true);
    expect(err.message).toMatch(/network error/);
  });

  it('stops retrying when the caller aborts', async () => {
    const s = await server((_req, res) => json(res, 429, { error: 'slow down' }, { 'retry-after': '10' }));
    const b = createOpenAICompatibleBackend({ url: s.base, model: 'm' });
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    const started = Date.now();
    const err = (await b.embed(['a'], ac.signal).catch((e: unknown) => e)) as EmbeddingError;
    expect(err.retryable).toBe(false);
    expect(err.message).toMatch(/aborted/);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('rejects a response whose vector count does not match the input', async () => {
    const s = await server((_req, res) => json(res, 200, { data: [{ index: 0, embedding: [1, 2] }] }));
    const b = createOpenAICompatibleBackend({ url: s.base, model: 'm' });
    const err = (await b.embed(['a', 'b']).catch((e: unknown) => e)) as EmbeddingError;
    expect(err.retryable).toBe(false);
    expect(err.message).toMatch(/1 embeddings for 2 inputs/);
  });

  it('explains a 200 reply carrying an error object and hides URL credentials', async () => {
    const s = await server((_req, res) => json(res, 200, { error: { message: 'model not loaded' } }));
    const b = createOpenAICompatibleBackend({ url: s.base.replace('http://', 'http://user:pw123@'), model: 'm' });
    const err = (await b.embed(['a']).catch((e: unknown) => e)) as EmbeddingError;
    expect(s.requests[0]!.headers.authorization).toBe(`Basic ${Buffer.from('user:pw123').toString('base64')}`);
    expect(err.retryable).toBe(false);
    expect(err.message).toContain('model not loaded');
    expect(err.message).not.toContain('pw123');
  });

  it('dimension() embeds "ok" once and caches it', async () => {
    const s = await server((req, res) => okReply(res, req.body.input));
    const b = createOpenAICompatibleBackend({ url: s.base, model: 'm' });
    expect(await Promise.all([b.dimension(), b.dimension()])).toEqual([4, 4]);
    expect(await b.dimension()).toBe(4);
    expect(s.requests).toHaveLength(1);
    expect(s.requests[0]!.body.input).toEqual(['ok']);
  });
});
