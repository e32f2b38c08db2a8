import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DocStore } from '@ragline/docstore';
import { cancelTask } from '@ragline/redis-queue';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEnvironment, type Environment } from '../support/pipeline.js';
import { assertInvariants, expectedTaskChunkIds, waitAllTasksEnded } from './support/invariants.js';
import { LOAD_PARSER_CONFIG, enqueueLoad, enqueuePlan, mixedCorpus } from './support/load.js';
import { fixtureVector } from './support/services.js';

/**
 * RAGFlow's cancel (`{task_id}-cancel` set in Redis) in the middle of a 200-document load: one task
 * while its chunks are being indexed, one while it still waits in the queue.
 */
describe('task cancelled mid-flight under load', () => {
  let env: Environment;
  let docstore: DocStore | undefined;

  beforeAll(async () => {
    env = await createEnvironment({ NATS_ACK_WAIT_MS: '3000', MONITOR_SYNC_MS: '1000', PARSER_BATCH_CHUNKS: '4' });
    env.startAll();
  });
  afterAll(async () => {
    await docstore?.close();
    await env?.cleanup();
  });

  it('removes its chunks, writes nothing more for it, fails it as cancelled; the rest of the load is unaffected', async () => {
    const t0 = Date.now();
    const plan = await enqueueLoad(env, await mixedCorpus(200, 'cancel'), { enqueue: false });
    // the big text documents make hundreds of chunks: their indexing takes long enough to cancel into
    const big = plan.docs.filter((d) => d.data.byteLength > 100_000);
    expect(big.length).toBeGreaterThanOrEqual(2);
    const flying = big[0]!;
    const flyingTask = flying.tasks[0]!.id;
    // the last document is enqueued in the last wave, seconds from now
    const queued = plan.docs[plan.docs.length - 1]!;
    const queuedTask = queued.tasks[0]!.id;
    await cancelTask(env.redis, queuedTask);
    const feeding = enqueuePlan(env, plan, { spreadMs: 8000 });

    // mid-flight: some of its chunks in the doc store, far from all. Watched in the store itself, not
    // through progress: the monitor writes progress once a second and the indexer can store most of
    // the task's batches between two writes, so a progress window can be jumped over.
    docstore = env.docstore();
    const store = docstore;
    const expectedIds = await expectedTaskChunkIds(flying, flying.tasks[0]!, { ...LOAD_PARSER_CONFIG, ...flying.doc.parser_config });
    const storedAtCancel = await env.waitFor(
      'the big task being indexed',
      async () => {
        const stored = await store.count(flying.tenantId, { doc_id: flying.doc.id });
        if (stored >= expectedIds.length) throw new Error(`all ${stored} chunks of ${flying.name} were indexed before the cancel`);
        if (stored > 0) return stored;
        const t = await env.taskdb.getTask(flyingTask);
        if (!t || t.progress < 0) throw new Error(`task ended early: ${t?.progress_msg}`);
        return undefined;
      },
      { timeoutMs: 120_000, everyMs: 20 },
    );
    await cancelTask(env.redis, flyingTask);
    const tCancel = Date.now();

    await feeding;
    await waitAllTasksEnded(env, plan, 240_000);
    const tEnded = Date.now();

    for (const [d, taskId] of [
      [flying, flyingTask],
      [queued, queuedTask],
    ] as const) {
      const t = (await env.taskdb.getTask(taskId))!;
      expect(t.progress, `${d.name} progress`).toBe(-1);
      expect(t.progress_msg, `${d.name} message`).toMatch(/cancel/i);
      expect(t.progress_msg, `${d.name} never done`).not.toMatch(/Task done/);
      expect(await docstore.count(d.tenantId, { doc_id: d.doc.id }), `${d.name} chunks left`).toBe(0);
    }
    // nothing written later either: redelivered or late batches of the cancelled task stay out
    await sleep(5000);
    expect(await docstore.get(flying.tenantId, expectedIds)).toHaveLength(0);
    expect(await docstore.count(flying.tenantId, { doc_id: flying.doc.id })).toBe(0);
    const later = (await env.taskdb.getTask(flyingTask))!;
    expect(later.progress).toBe(-1);
    const doc = (await env.taskdb.getDocument(flying.doc.id))!;
    expect(doc.chunk_num).toBe(0);

    // everything else: done, each chunk once, queues and consumers drained, counts consistent
    const report = await assertInvariants(env, plan, { allowFailed: 2, docstore });
    console.log(
      `[faults] cancel: ${plan.taskIds.length} tasks; ${flying.name} cancelled with ${storedAtCancel} of ${expectedIds.length} chunks stored; ended ${((tEnded - tCancel) / 1000).toFixed(1)}s after the cancel; ` +
        `${report.chunks} chunks; total ${((Date.now() - t0) / 1000).toFixed(1)}s`,
    );
    expect(storedAtCancel).toBeGreaterThan(0);
    expect(storedAtCancel).toBeLessThan(expectedIds.length);
    expect(report.failures.map((f) => f.taskId).sort()).toEqual([flyingTask, queuedTask].sort());
    expect(report.done).toBe(plan.taskIds.length - 2);
    expect(report.docsDone).toBe(plan.docs.length - 2);
  });

  it('also when the batches still to come wait for the embedder: the task ends cancelled and its indexed chunks go', async () => {
    // A slow model makes the embedder the bottleneck, so part of the task is indexed while the rest
    // waits in the chunk stream. The embedder is down when the cancel comes; when it is back it drops
    // those batches, and no stage downstream hears of the task again unless the drop is passed on.
    // (re)starts the embedder and waits until it pulls, so a SIGTERM finds its drain handler installed
    const startEmbedder = async (more: Record<string, string> = {}) => {
      const from = env.logs.length;
      env.start('embedder', 0, more);
      await env.waitFor('embedder ready', async () => env.logs.slice(from).some((l) => l.app === 'embedder.0' && l.line.includes('embedder ready')));
    };
    const slow = await startSlowEmbeddingServer(400);
    try {
      await env.waitFor('embedder ready', async () => env.logs.some((l) => l.app === 'embedder.0' && l.line.includes('embedder ready')));
      expect(await env.stop('embedder.0')).toBe(0);
      await startEmbedder({ ...slow.env, EMBEDDER_CONCURRENCY: '1' });
      const { tasks, doc, tenantId } = await env.addDocument(
        'backlog.txt',
        Array.from({ length: 160 }, (_, i) => `Backlog line ${i}: the embedder is slow while batch ${i} waits in the chunk stream.`).join('\n'),
        { kb: 'cancel-backlog', tenant: 'cancel-backlog', parserConfig: { chunk_token_num: 16, delimiter: '\n' } },
      );
      const taskId = tasks[0]!.id;
      await env.producer.enqueue(env.queues[1]!, { ...tasks[0]! });
      await env.waitFor('some batches indexed', async () => {
        const t = await env.taskdb.getTask(taskId);
        if (!t || t.progress < 0 || t.progress >= 1) throw new Error(`task ended early: ${t?.progress_msg}`);
        return t.progress > 0.32 ? t : undefined;
      });
      expect(await env.stop('embedder.0')).toBe(0);
      // let the indexer finish what the embedder passed on before it stopped
      await sleep(3000);
      docstore ??= env.docstore();
      const before = await docstore.count(tenantId, { doc_id: doc.id });
      const held = (await env.taskdb.getTask(taskId))!;
      await cancelTask(env.redis, taskId);
      await startEmbedder();

      const ended = await env.waitFor(
        'the cancelled task to end',
        async () => {
          const t = await env.taskdb.getTask(taskId);
          return t && (t.progress === -1 || t.progress >= 1) ? t : undefined;
        },
        30_000,
      );
      expect(held.progress).toBeLessThan(1);
      expect(before).toBeGreaterThan(0);
      expect(ended.progress).toBe(-1);
      expect(ended.progress_msg).toMatch(/cancel/i);
      await sleep(3000);
      expect(await docstore.count(tenantId, { doc_id: doc.id })).toBe(0);
      expect((await env.taskdb.getDocument(doc.id))!.chunk_num).toBe(0);
    } finally {
      await slow.close();
    }
  });
});

/** An OpenAI-compatible embedding server that answers every request after `delayMs`. */
async function startSlowEmbeddingServer(delayMs: number) {
  const dim = 1024;
  const server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (b: Buffer) => parts.push(b));
    req.on('end', () => {
      const input = (JSON.parse(Buffer.concat(parts).toString('utf8')) as { input: string | string[] }).input;
      const texts = Array.isArray(input) ? input : [input];
      const tokens = texts.reduce((n, t) => n + t.split(/\s+/).filter(Boolean).length, 0);
      setTimeout(() => {
        res.writeHead(200, { 'content-type': 'application/json' }).end(
          JSON.stringify({
            object: 'list',
            model: 'slow',
            data: texts.map((t, index) => ({ object: 'embedding', index, embedding: fixtureVector(t, dim) })),
            usage: { prompt_tokens: tokens, total_tokens: tokens },
          }),
        );
      }, delayMs);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    env: { EMBEDDING_URL: `${url}/v1`, EMBEDDING_KIND: 'openai', EMBEDDING_MODEL: 'slow', EMBEDDING_DIM: String(dim) },
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}
