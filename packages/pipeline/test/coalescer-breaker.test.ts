import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createEmbeddingRegistry } from '../src/index.js';
import { logger } from './support/stage-env.js';

/** A real OpenAI-compatible model server (8-dim vectors) that answers 500 while `failing`. */
async function modelServer() {
  const s = { url: '', failing: false, calls: 0, close: async () => undefined as void };
  const server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      s.calls++;
      const { input } = JSON.parse(Buffer.concat(parts).toString('utf8')) as { input: string[] };
      res.setHeader('content-type', 'application/json');
      if (s.failing) {
        res.writeHead(500).end(JSON.stringify({ error: { message: 'model crashed' } }));
        return;
      }
      const data = input.map((_, index) => ({ object: 'embedding', index, embedding: Array.from({ length: 8 }, (_, k) => (k === index % 8 ? 1 : 0)) }));
      res.end(JSON.stringify({ object: 'list', data, usage: { prompt_tokens: input.length, total_tokens: input.length } }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  s.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  s.close = () =>
    new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  return s;
}

let server: Awaited<ReturnType<typeof modelServer>> | undefined;
afterEach(async () => server?.close());

describe('embedding backend breaker with the dimension check', () => {
  it('opens after consecutive failed calls even though every batch asks for the (known) dimension first', async () => {
    server = await modelServer();
    const reg = createEmbeddingRegistry({
      defaultSpec: { kind: 'openai', url: server.url, model: 'm', maxRetries: 0 },
      breaker: { failureThreshold: 3, cooldownMs: 60_000, maxWaitMs: 0 },
      logger,
    });
    const backend = reg.forEmbdId('m@Test');
    expect(await backend.dimension()).toBe(8);
    server.failing = true;
    // what the embedder does per batch: check the dimension, then embed
    for (let batch = 0; batch < 3; batch++) {
      expect(await backend.dimension()).toBe(8);
      await expect(backend.embed([`text ${batch}`])).rejects.toThrow(/HTTP 500/);
    }
    expect(reg.entries()[0]!.breaker.state).toBe('open');
    expect(reg.canPull()).toBe(false);
    // the known dimension needs no call, even while the circuit is open
    const calls = server.calls;
    expect(await backend.dimension()).toBe(8);
    expect(server.calls).toBe(calls);
  });
});
