import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChatCircuitOpenError, ChatError, createChatModel, removeReasoning } from '../src/index.js';
import { startChatFixture, type ChatFixture } from '../src/testing/index.js';
import { fastSpec } from './helpers.js';

let fx: ChatFixture;
beforeAll(async () => {
  fx = await startChatFixture({ answer: (r) => `<think>pondering</think>  echo: ${r.messages[1]!.content}  ` });
});
afterAll(() => fx.close());

const ask = { system: 'sys', user: 'hello', genConf: { temperature: 0.2, max_tokens: 10, topn: 3 } };

describe('chat client', () => {
  it('posts an OpenAI chat request and returns the trimmed answer without its reasoning block', async () => {
    fx.reset();
    const m = createChatModel(fastSpec(fx.url, 'm1', { apiKey: 'sk-test' }));
    // trimmed first, then the reasoning cut, as RAGFlow (content.strip(), then LLMBundle's removal)
    expect(await m.chat(ask)).toBe('  echo: hello');
    const r = fx.requests[0]!;
    expect(r.model).toBe('m1');
    expect(r.messages).toEqual([
      { role: 'system', content: 'sys' },
      { role: 'user', content: 'hello' },
    ]);
    // only gen_conf keys an OpenAI server takes (RAGFlow drops max_tokens too)
    expect(r.params).toEqual({ stream: false, temperature: 0.2 });
    expect(r.authorization).toBe('Bearer sk-test');
  });

  it("retries a 429 after the server's Retry-After (seconds and HTTP date)", async () => {
    fx.reset();
    fx.fail({ kind: 'status', status: 429, retryAfter: '1' });
    const m = createChatModel(fastSpec(fx.url, 'm1'));
    const t0 = Date.now();
    expect(await m.chat(ask)).toBe('  echo: hello');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(950);
    expect(fx.requests.map((r) => r.status)).toEqual([429, 200]);

    fx.reset();
    fx.fail({ kind: 'status', status: 503, retryAfter: new Date(Date.now() + 1500).toUTCString() });
    const t1 = Date.now();
    await m.chat(ask);
    // HTTP dates have second resolution
    expect(Date.now() - t1).toBeGreaterThanOrEqual(400);
    expect(fx.requests).toHaveLength(2);
  });

  it('retries 500s, gives up retryable after maxRetries, and opens the breaker after repeated failures', async () => {
    fx.reset();
    const m = createChatModel(fastSpec(fx.url, 'm1', { maxRetries: 1 }), { breaker: { failureThreshold: 2, cooldownMs: 60_000, maxWaitMs: 50 } });
    fx.fail(...Array.from({ length: 4 }, () => ({ kind: 'status' as const, status: 500 })));
    const e1 = (await m.chat(ask).catch((e: unknown) => e)) as ChatError;
    expect(e1).toBeInstanceOf(ChatError);
    expect(e1).toMatchObject({ status: 500, retryable: true });
    expect(fx.requests).toHaveLength(2);
    await expect(m.chat(ask)).rejects.toMatchObject({ status: 500 });
    expect(m.breaker.state).toBe('open');
    const e3 = await m.chat(ask).catch((e: unknown) => e);
    expect(e3).toBeInstanceOf(ChatCircuitOpenError);
    expect(e3).toMatchObject({ retryable: true });
    // the open circuit made no request
    expect(fx.requests).toHaveLength(4);
  });

  it('turns a hang into a retryable timeout, retried', async () => {
    fx.reset();
    fx.fail({ kind: 'hang' }, { kind: 'hang' });
    const m = createChatModel(fastSpec(fx.url, 'm1', { timeoutMs: 200, maxRetries: 1 }));
    const err = await m.chat(ask).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ChatError);
    expect(err).toMatchObject({ retryable: true, message: expect.stringContaining('timed out after 200 ms') });
    expect(fx.requests).toHaveLength(2);
  });

  it('fails other 4xx at once as permanent, with the server words and without the key', async () => {
    fx.reset();
    fx.fail({ kind: 'status', status: 401, body: JSON.stringify({ error: { message: 'bad key sk-secret' } }) });
    const m = createChatModel(fastSpec(fx.url, 'm1', { apiKey: 'sk-secret' }));
    const err = (await m.chat(ask).catch((e: unknown) => e)) as ChatError;
    expect(err).toMatchObject({ status: 401, retryable: false });
    expect(err.message).toContain('HTTP 401: bad key ***');
    expect(err.message).not.toContain('sk-secret');
    expect(fx.requests).toHaveLength(1);
  });

  it('removes reasoning as LLMBundle does: only when <think> opens before the last </think>', () => {
    expect(removeReasoning('<think>a</think><think>b</think>answer')).toBe('answer');
    expect(removeReasoning('no tags')).toBe('no tags');
    expect(removeReasoning('x</think>y')).toBe('x</think>y');
  });
});

describe('chat fixture capacity', () => {
  it('works on at most `capacity` requests at once, the others waiting their turn', async () => {
    const slots = await startChatFixture({ latencyMs: 100, capacity: 2 });
    try {
      const m = createChatModel(fastSpec(slots.url, 'm'));
      const t0 = Date.now();
      await Promise.all(Array.from({ length: 4 }, () => m.chat(ask)));
      // two rounds of 100 ms
      expect(Date.now() - t0).toBeGreaterThanOrEqual(190);
      expect(slots.maxConcurrent).toBe(4);
      expect(slots.requests).toHaveLength(4);
    } finally {
      await slots.close();
    }
  });
});
