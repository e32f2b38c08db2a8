import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach } from 'vitest';

/** Stand-in tokenizer for tests that must not depend on @ragline/tokenizer: one token per whitespace word. */
export const wordCount = (s: string): number => s.split(/\s+/).filter(Boolean).length;
export const wordTruncate = (s: string, max: number): string => s.split(/\s+/).filter(Boolean).slice(0, max).join(' ');

export interface Recorded {
  url: string;
  headers: IncomingMessage['headers'];
  body: { model: string; input: string[]; encoding_format?: string; dimensions?: number };
  at: number;
}

export type Handler = (req: Recorded, res: ServerResponse, n: number) => void | Promise<void>;

/** A real HTTP server on an ephemeral loopback port; each request goes to `handler` with its ordinal. */
export async function startServer(handler: Handler): Promise<{ base: string; requests: Recorded[]; close(): Promise<void> }> {
  const requests: Recorded[] = [];
  const server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      const rec: Recorded = {
        url: req.url ?? '',
        headers: req.headers,
        body: JSON.parse(Buffer.concat(parts).toString('utf8') || '{}') as Recorded['body'],
        at: Date.now(),
      };
      requests.push(rec);
      void Promise.resolve(handler(rec, res, requests.length)).catch((err: unknown) => {
        res.statusCode = 599;
        res.end(String(err));
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    base: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Deterministic fake embedding of a text: [len, charCode(0), index-free] so order mistakes show. */
export function vecFor(text: string, dim = 4): number[] {
  const v = new Array<number>(dim).fill(0);
  v[0] = text.length;
  v[1] = text.charCodeAt(0) || 0;
  return v;
}

export function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

/** An OpenAI-shaped success reply with `data` deliberately reversed so the client must sort by index. */
export function okReply(res: ServerResponse, input: string[], usage: Record<string, number> | null = { prompt_tokens: 7, total_tokens: 7 }): void {
  const data = input.map((t, index) => ({ object: 'embedding', index, embedding: vecFor(t) })).reverse();
  json(res, 200, { object: 'list', model: 'm', data, ...(usage && { usage }) });
}

/** A startServer() for one test file whose servers are all closed after each test. */
export function serversClosedAfterEach(): (handler: Handler) => ReturnType<typeof startServer> {
  const closers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    while (closers.length) await closers.pop()!();
  });
  return async (handler) => {
    const s = await startServer(handler);
    closers.push(s.close);
    return s;
  };
}
