import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DocStore } from '@ragline/docstore';
import { listWorkers } from '@ragline/redis-queue';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEnvironment, type Environment } from '../support/pipeline.js';

const DIM = 24;
const GOOD_KEY = 'sk-e2e-GOOD-key-0f9a1c';
const REVOKED_KEY = 'sk-e2e-REVOKED-key-77b2e4';

/** The model's vector for a text: deterministic (FNV-1a seeded xorshift), unit length, DIM floats. */
function modelVector(text: string): number[] {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  const v: number[] = [];
  for (let i = 0; i < DIM; i++) {
    h ^= h << 13;
    h ^= h >>> 17;
    h ^= h << 5;
    v.push(((h >>> 0) / 0xffffffff) * 2 - 1);
  }
  const norm = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  return v.map((x) => x / norm);
}
const words = (t: string) => t.split(/\s+/).filter(Boolean).length;

interface Call {
  route: 'good' | 'revoked';
  inputs: string[];
  /** usage reported to the client */
  tokens: number;
}

/**
 * An OpenAI-compatible model server with two routes: /good serves DIM-dim vectors (after 100 ms, like
 * a model) to GOOD_KEY; /revoked answers 401 with OpenAI's message, which echoes the key it was given.
 */
async function startModelServer(): Promise<{ url: string; calls: Call[]; close(): Promise<void> }> {
  const calls: Call[] = [];
  const send = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const server: Server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (p: Buffer) => parts.push(p));
    req.on('end', () => {
      const { input } = JSON.parse(Buffer.concat(parts).toString('utf8')) as { input: string[] };
      const key = (req.headers.authorization ?? '').replace(/^Bearer /, '');
      if (req.url?.startsWith('/revoked/')) {
        calls.push({ route: 'revoked', inputs: input, tokens: 0 });
        return send(res, 401, {
          error: { message: `Incorrect API key provided: ${key}. The key was revoked.`, type: 'invalid_request_error', param: null, code: 'invalid_api_key' },
        });
      }
      if (key !== GOOD_KEY) return send(res, 401, { error: { message: 'unexpected key' } });
      const tokens = input.reduce((n, t) => n + words(t), 0);
      calls.push({ route: 'good', inputs: input, tokens });
      setTimeout(() => {
        send(res, 200, {
          object: 'list',
          model: 'e2e-embed',
          data: input.map((t, index) => ({ object: 'embedding', index, embedding: modelVector(t) })),
          usage: { prompt_tokens: tokens, total_tokens: tokens },
        });
      }, 100);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    calls,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** Lines that each name their document, so the server can tell whose text it embeds. */
function documentText(name: string, lines: number): string {
  const topics = ['harbour cranes', 'river barges', 'grain silos', 'rail sidings', 'customs sheds', 'tide tables'];
  return Array.from(
    { length: lines },
    (_, i) => `Doc ${name} line ${i}: the ${topics[i % topics.length]} of the ${name} quarter handled lot ${i * 11 + 5} before noon on day ${i + 1}.`,
  ).join('\n');
}
const docOf = (text: string) => /^\s*Doc (\w+) line/.exec(text)?.[1];

describe('embedder end to end: two replicas, a real embedding server, six processes', () => {
  let env: Environment;
  let model: Awaited<ReturnType<typeof startModelServer>>;
  let docstore: DocStore | undefined;

  beforeAll(async () => {
    model = await startModelServer();
    env = await createEnvironment({
      PARSER_BATCH_CHUNKS: '3',
      // each replica holds at most four batches at a time, so both get work; their texts wait up to 300 ms to share calls
      EMBEDDER_CONCURRENCY: '4',
      EMBEDDING_BATCH_SIZE: '16',
      EMBEDDING_MAX_WAIT_MS: '300',
      EMBEDDING_BACKENDS: JSON.stringify({
        'e2e-embed@Test': { kind: 'openai', url: `${model.url}/good/v1`, model: 'e2e-embed', apiKey: GOOD_KEY },
        'e2e-revoked@Test': { kind: 'openai', url: `${model.url}/revoked/v1`, model: 'e2e-revoked', apiKey: REVOKED_KEY },
      }),
    });
    // the embedders start once every batch is waiting for them (see the test)
    for (const app of ['ingest-bridge', 'parser', 'enricher', 'indexer', 'monitor'] as const) env.start(app);
  });

  afterAll(async () => {
    await docstore?.close();
    await env?.cleanup();
    await model?.close();
  });

  it("embeds every document with the knowledge base's model, coalescing across tasks, and fails only the task whose key is revoked", async () => {
    // knowledge bases with their own embd_id; addDocument finds them by name
    const tenantId = await env.taskdb.ensureTenant({ name: 'e2e', embdId: 'ragline-hash-1024@Ragline' });
    const parserConfig = { chunk_token_num: 48, delimiter: '\n', layout_recognize: 'DeepDOC' };
    await env.taskdb.ensureKnowledgebase({ name: 'served', tenantId, embdId: 'e2e-embed@Test', parserConfig });
    await env.taskdb.ensureKnowledgebase({ name: 'revoked', tenantId, embdId: 'e2e-revoked@Test', parserConfig });

    // one batch of three chunks per document, so a call with texts of several documents is a call across tasks
    const names = ['alpha', 'bravo', 'charlie', 'delta', 'foxtrot', 'golf', 'hotel', 'india'];
    const good = [];
    for (const n of names) good.push(await env.addDocument(`${n}.md`, documentText(n, 6), { kb: 'served' }));
    const bad = await env.addDocument('echo.md', documentText('echo', 6), { kb: 'revoked' });
    expect(good[0]!.kb.embd_id).toBe('e2e-embed@Test');
    expect(bad.kb.embd_id).toBe('e2e-revoked@Test');
    const all = [...good, bad];
    for (const d of all) for (const t of d.tasks) await env.producer.enqueue(env.queues[1]!, { ...t });

    // every task parsed and its batches published (progress 0.3) before the two embedder replicas start,
    // so each pulls up to four batches of different tasks at once: coalescing is then certain, not timing luck
    await env.waitFor('every task parsed', async () => {
      const ts = await Promise.all(all.map((d) => env.taskdb.getTask(d.tasks[0]!.id)));
      return ts.every((t) => t && t.progress >= 0.3);
    });
    env.start('embedder', 0);
    env.start('embedder', 1);

    // the revoked key fails its task at once, with the server's words and without the key
    const failed = await env.waitFor('the revoked task to fail', async () => {
      const t = await env.taskdb.getTask(bad.tasks[0]!.id);
      return t && t.progress === -1 ? t : undefined;
    });
    expect(failed.progress_msg).toContain('embedder failed:');
    expect(failed.progress_msg).toContain('HTTP 401: Incorrect API key provided: ***. The key was revoked.');
    expect(failed.progress_msg).not.toContain(REVOKED_KEY);
    const badDoc = await env.taskdb.getDocument(bad.doc.id);
    expect(badDoc!.run).toBe('4');
    expect(badDoc!.progress_msg).not.toContain(REVOKED_KEY);

    // ... while the other tasks finish
    const done = [];
    for (const d of good) {
      done.push(
        await env.waitFor(`${d.doc.name} done`, async () => {
          const t = await env.taskdb.getTask(d.tasks[0]!.id);
          if (t && t.progress < 0) throw new Error(`task failed: ${t.progress_msg}`);
          return t && t.progress >= 1 ? t : undefined;
        }),
      );
    }

    // vectors in the store are the server's, mixed as RAGFlow does (0.1 title + 0.9 content), in a field named by the discovered size
    docstore = env.docstore();
    let total = 0;
    for (const [i, d] of good.entries()) {
      const ids = done[i]!.chunk_ids.split(' ').filter(Boolean);
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids.length).toBeGreaterThanOrEqual(2);
      total += ids.length;
      expect(await docstore.count(tenantId, { doc_id: d.doc.id })).toBe(ids.length);
      const stored = (await docstore.get(tenantId, ids)) as unknown as Record<string, unknown>[];
      expect(stored).toHaveLength(ids.length);
      const title = modelVector(`${names[i]}.md`);
      for (const c of stored) {
        expect(Object.keys(c).filter((k) => /^q_\d+_vec$/.test(k))).toEqual([`q_${DIM}_vec`]);
        const content = modelVector(String(c.content_with_weight));
        const want = content.map((x, k) => 0.1 * title[k]! + 0.9 * x);
        (c[`q_${DIM}_vec`] as number[]).forEach((x, k) => expect(x).toBeCloseTo(want[k]!, 5));
      }
    }

    // every chunk text reached the model exactly once, across both replicas (titles: once per task per replica at most)
    const goodCalls = model.calls.filter((c) => c.route === 'good' && !(c.inputs.length === 1 && c.inputs[0] === 'ok'));
    const chunkTexts = goodCalls.flatMap((c) => c.inputs).filter((t) => docOf(t) !== undefined);
    expect(chunkTexts).toHaveLength(total);
    expect(new Set(chunkTexts).size).toBe(total);
    for (const n of names) {
      const titles = goodCalls.flatMap((c) => c.inputs).filter((t) => t === `${n}.md`).length;
      expect(titles).toBeGreaterThanOrEqual(1);
      expect(titles).toBeLessThanOrEqual(2);
    }
    // coalesced: calls carried more texts than one batch (3 chunks) holds, and texts of several tasks
    expect(Math.max(...goodCalls.map((c) => c.inputs.length))).toBeGreaterThan(3);
    expect(goodCalls.some((c) => new Set(c.inputs.map(docOf).filter(Boolean)).size > 1)).toBe(true);
    expect(goodCalls.length).toBeLessThan(total / 3);

    // token_num: what the server reported, once per task, on documents and their knowledge base
    const docs = await Promise.all(good.map((d) => env.taskdb.getDocument(d.doc.id)));
    for (const d of docs) expect(d!.token_num).toBeGreaterThan(0);
    const reported = goodCalls.reduce((n, c) => n + c.tokens, 0);
    expect(docs.reduce((n, d) => n + d!.token_num, 0)).toBe(reported);
    expect((await env.taskdb.getKnowledgebase(good[0]!.kb.id))!.token_num).toBe(reported);

    // both replicas embedded batches
    await new Promise((r) => setTimeout(r, 1500));
    const embedders = (await listWorkers(env.redis)).filter((w) => w.heartbeat?.stage === 'embedder');
    expect(embedders).toHaveLength(2);
    for (const w of embedders) expect(w.heartbeat!.done, w.name).toBeGreaterThan(0);

    // no key in any process's log
    const leaked = env.logs.filter((l) => l.line.includes(REVOKED_KEY) || l.line.includes(GOOD_KEY));
    expect(leaked).toEqual([]);
  });
});
