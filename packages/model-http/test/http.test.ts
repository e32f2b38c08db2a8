import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CircuitBreaker, CircuitOpenError, ModelCallError, jsonEndpoint, parseRetryAfter, retrying, statusFailure } from '../src/index.js';

const fail = (message: string, init: ConstructorParameters<typeof ModelCallError>[1]) => new ModelCallError(message, init);

describe('statusFailure', () => {
  const res = (status: number, headers: Record<string, string> = {}) => new Response(null, { status, headers });
  it('retries 429 and 5xx with the Retry-After seconds or HTTP date; other 4xx are permanent', () => {
    expect(statusFailure(res(429, { 'retry-after': '2' }), '{"error":{"message":"slow down"}}')).toEqual({
      message: 'HTTP 429: slow down',
      init: { status: 429, retryable: true, retryAfterMs: 2000 },
    });
    const at = new Date(Date.now() + 5000).toUTCString();
    const d = statusFailure(res(503, { 'retry-after': at }), 'down').init.retryAfterMs!;
    expect(d).toBeGreaterThan(3000);
    expect(d).toBeLessThanOrEqual(5000);
    expect(statusFailure(res(500), '').init).toEqual({ status: 500, retryable: true });
    expect(statusFailure(res(404), 'no such model').init).toEqual({ status: 404, retryable: false });
    expect(statusFailure(res(424), '', new Set([424])).init.retryable).toBe(true);
    expect(parseRetryAfter('soon')).toBeUndefined();
  });
});

describe('retrying', () => {
  it('waits the Retry-After an error carries, gives up after maxRetries, never retries permanent errors', async () => {
    let calls = 0;
    const t0 = Date.now();
    const r = await retrying(
      async () => {
        if (++calls < 3) throw fail('busy', { retryable: true, retryAfterMs: 100 });
        return 'ok';
      },
      { maxRetries: 4, retryBaseMs: 1, maxRetryDelayMs: 1000, aborted: () => new Error('aborted') },
    );
    expect(r).toBe('ok');
    expect(calls).toBe(3);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(190);

    calls = 0;
    await expect(retrying(async () => (calls++, Promise.reject(fail('bad', { retryable: false }))), { maxRetries: 4, retryBaseMs: 1, maxRetryDelayMs: 10, aborted: () => new Error('x') })).rejects.toThrow('bad');
    expect(calls).toBe(1);
    calls = 0;
    await expect(retrying(async () => (calls++, Promise.reject(fail('flaky', { retryable: true }))), { maxRetries: 2, retryBaseMs: 1, maxRetryDelayMs: 10, aborted: () => new Error('x') })).rejects.toThrow('flaky');
    expect(calls).toBe(3);
  });
});

describe('jsonEndpoint', () => {
  let server: Server;
  let base = '';
  const seen: Array<string | undefined> = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      seen.push(req.headers.authorization);
      if (req.url === '/hang') return; // never answers
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => {
    server.closeAllConnections();
    server.close();
  });

  it('sends the key as a bearer token, URL credentials as Basic auth, and scrubs both from messages', async () => {
    const withKey = jsonEndpoint({ url: `${base}/x`, apiKey: 'sk-secret', timeoutMs: 1000 });
    expect((await withKey.post({}, undefined, fail)).text).toBe('{"ok":true}');
    expect(withKey.scrub('key sk-secret')).toBe('key ***');
    const withUser = jsonEndpoint({ url: base.replace('http://', 'http://u:pw@') + '/x', timeoutMs: 1000 });
    expect(withUser.endpoint).toBe(`${base}/x`);
    await withUser.post({}, undefined, fail);
    expect(seen).toEqual(['Bearer sk-secret', `Basic ${Buffer.from('u:pw').toString('base64')}`]);
  });

  it('turns a hang into a retryable timeout and the caller abort into a permanent error', async () => {
    const hang = jsonEndpoint({ url: `${base}/hang`, timeoutMs: 150 });
    await expect(hang.post({}, undefined, fail)).rejects.toMatchObject({ message: 'timed out after 150 ms', retryable: true });
    const ac = new AbortController();
    setTimeout(() => ac.abort(new Error('stop')), 30);
    await expect(jsonEndpoint({ url: `${base}/hang`, timeoutMs: 5000 }).post({}, ac.signal, fail)).rejects.toMatchObject({ message: 'aborted by caller', retryable: false });
    await expect(jsonEndpoint({ url: 'http://127.0.0.1:1/x', timeoutMs: 1000 }).post({}, undefined, fail)).rejects.toMatchObject({ retryable: true });
  });
});

describe('CircuitBreaker', () => {
  it('gives up with the error the client asks for once the wait would pass maxWaitMs', async () => {
    class ChatOpen extends Error {}
    const b = new CircuitBreaker({ failureThreshold: 1, cooldownMs: 60_000, maxWaitMs: 10, openError: (m) => new ChatOpen(m) });
    await expect(b.run(() => Promise.reject(fail('down', { retryable: true })))).rejects.toThrow('down');
    await expect(b.run(() => Promise.resolve(1))).rejects.toBeInstanceOf(ChatOpen);
    const d = new CircuitBreaker({ failureThreshold: 1, cooldownMs: 60_000, maxWaitMs: 10 });
    await expect(d.run(() => Promise.reject(fail('down', { retryable: true })))).rejects.toThrow('down');
    await expect(d.run(() => Promise.resolve(1))).rejects.toBeInstanceOf(CircuitOpenError);
  });
});
