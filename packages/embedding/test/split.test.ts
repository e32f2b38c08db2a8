import type { ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { createOpenAICompatibleBackend, createTeiBackend, EmbeddingError, requestTooLarge } from '../src/index.js';
import { json, okReply, serversClosedAfterEach, vecFor, wordCount } from './helpers.js';

const server = serversClosedAfterEach();

const KEY = 'tei-SECRET-split-99';
type TeiBody = { inputs: string[] };
const inputsOf = (r: { body: unknown }) => (r.body as TeiBody).inputs ?? (r.body as { input: string[] }).input;
const teiOk = (res: ServerResponse, inputs: string[]) => json(res, 200, inputs.map((t) => vecFor(t)));
const texts = (n: number, len = 6) => Array.from({ length: n }, (_, i) => `t${String(i).padStart(len - 1, '0')}`);

describe('batches refused as too large are split', () => {
  it("TEI's max client batch size: one refused call, then calls of the size it named, remembered for later batches", async () => {
    const s = await server((req, res) => {
      const inputs = inputsOf(req);
      if (inputs.length > 4) return json(res, 413, { error: `batch size ${inputs.length} > maximum allowed batch size 4`, error_type: 'Validation' });
      teiOk(res, inputs);
    });
    const b = createTeiBackend({ url: s.base, model: 'bge-m3', apiKey: KEY, countTokens: wordCount });
    const input = texts(10);

    const r = await b.embed(input);

    expect(s.requests.map((q) => inputsOf(q).length)).toEqual([10, 4, 4, 2]);
    expect(s.requests.slice(1).flatMap(inputsOf)).toEqual(input);
    expect(r.vectors.map((v) => Array.from(v))).toEqual(input.map((t) => vecFor(t)));
    expect(r.tokens).toBe(10);

    // the next batch goes out in parts of 4 at once, without another refusal
    await b.embed(texts(9));
    expect(s.requests.slice(4).map((q) => inputsOf(q).length)).toEqual([4, 4, 1]);
  });

  it('halves recursively on a 413 without a stated limit (a proxy body limit), keeping order and tokens', async () => {
    // the "server" refuses any request carrying more than 20 characters of input
    const s = await server((req, res) => {
      const inputs = inputsOf(req);
      if (inputs.join('').length > 20) {
        res.writeHead(413, { 'content-type': 'text/html' });
        res.end('<html><center><h1>413 Request Entity Too Large</h1></center></html>');
        return;
      }
      teiOk(res, inputs);
    });
    const b = createTeiBackend({ url: s.base, model: 'bge-m3', countTokens: wordCount });
    const input = texts(8, 5); // 8 x 5 characters

    const r = await b.embed(input);

    // 40 chars refused, 20 + 20 accepted
    expect(s.requests.map((q) => inputsOf(q).length)).toEqual([8, 4, 4]);
    expect(r.vectors.map((v) => Array.from(v))).toEqual(input.map((t) => vecFor(t)));
    expect(r.tokens).toBe(8);
  });

  it('fails a single input that is still too large with a permanent error naming the limit, without the key', async () => {
    const s = await server((req, res) => {
      const inputs = inputsOf(req);
      const long = inputs.find((t) => t.length > 30);
      if (long) return json(res, 413, { error: `\`inputs\` must have less than 8 tokens. Given: ${long.length} (key ${KEY})`, error_type: 'Validation' });
      teiOk(res, inputs);
    });
    const b = createTeiBackend({ url: s.base, model: 'bge-m3', apiKey: KEY, truncate: false, countTokens: wordCount });
    const big = 'a sentence far longer than the model takes';

    const err = (await b.embed(['ok one', big, 'ok two', 'ok three']).catch((e: unknown) => e)) as EmbeddingError;

    expect(err).toBeInstanceOf(EmbeddingError);
    expect(err).toMatchObject({ status: 413, retryable: false });
    expect(err.message).toContain(`an input of ${big.length} characters is over the server's request limit even alone`);
    expect(err.message).toContain('HTTP 413: `inputs` must have less than 8 tokens. Given: 42');
    expect(err.message).not.toContain(KEY);
    // 4 refused -> [ok one, big] refused -> [ok one] fine -> [big] refused alone; the rest is never sent
    expect(s.requests.map(inputsOf)).toEqual([['ok one', big, 'ok two', 'ok three'], ['ok one', big], ['ok one'], [big]]);
  });

  it("OpenAI's max_tokens_per_request 400 is split too; another 400 is not", async () => {
    const s = await server((req, res) => {
      const inputs = inputsOf(req);
      if (inputs.some((t) => t.startsWith('bad'))) return json(res, 400, { error: { message: 'Invalid input: bad', type: 'invalid_request_error', code: null } });
      const words = inputs.reduce((n, t) => n + wordCount(t), 0);
      if (words > 6) {
        return json(res, 400, { error: { message: `Requested ${words} tokens, max 6 tokens per request`, type: 'max_tokens_per_request', param: null, code: 'max_tokens_per_request' } });
      }
      okReply(res, inputs, { prompt_tokens: words, total_tokens: words });
    });
    const b = createOpenAICompatibleBackend({ url: s.base, model: 'text-embedding-3-small', apiKey: KEY });
    const input = ['one two', 'three four', 'five six', 'seven eight', 'nine ten'];

    const r = await b.embed(input);

    // 10 words refused -> 3 + 2 items: 6 words accepted, 4 words accepted
    expect(s.requests.map((q) => inputsOf(q).length)).toEqual([5, 3, 2]);
    expect(r.vectors.map((v) => Array.from(v))).toEqual(input.map((t) => vecFor(t)));
    expect(r.tokens).toBe(10);

    const before = s.requests.length;
    const err = (await b.embed(['bad one', 'fine']).catch((e: unknown) => e)) as EmbeddingError;
    expect(err).toMatchObject({ status: 400, retryable: false });
    expect(err.message).toContain('HTTP 400: Invalid input: bad');
    expect(s.requests.length - before).toBe(1);
  });

  it('recognises the size refusals of TEI, OpenAI and gateways, and nothing else', () => {
    expect(requestTooLarge(413, '{"error":"batch size 64 > maximum allowed batch size 32","error_type":"Validation"}')).toEqual({ tooLarge: true, maxBatch: 32 });
    expect(requestTooLarge(413, 'Failed to buffer the request body: length limit exceeded')).toEqual({ tooLarge: true });
    expect(requestTooLarge(400, '{"error":{"message":"Requested 453357 tokens, max 300000 tokens per request","code":"max_tokens_per_request"}}')).toEqual({ tooLarge: true });
    expect(requestTooLarge(400, '{"code":20042,"message":"input batch size 100 > maximum allowed batch size 64"}')).toEqual({ tooLarge: true, maxBatch: 64 });
    expect(requestTooLarge(400, '{"error":{"message":"This model\'s maximum context length is 8192 tokens"}}')).toEqual({ tooLarge: false });
    expect(requestTooLarge(401, '{"error":{"message":"max 300000 tokens per request"}}')).toEqual({ tooLarge: false });
    expect(requestTooLarge(429, '{"error":"overloaded","error_type":"Overloaded"}')).toEqual({ tooLarge: false });
  });
});
