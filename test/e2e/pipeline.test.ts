import { queueStats } from '@ragline/redis-queue';
import type { DocStore, StoredChunk } from '@ragline/docstore';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEnvironment, type Environment } from '../support/pipeline.js';

/** Sections long enough to make several chunks and, with small batches, several batches. */
function sampleMarkdown(): string {
  const topics = ['queues', 'parsers', 'embeddings', 'indexes', 'monitors', 'traces'];
  return topics
    .map(
      (t, i) =>
        `# Chapter ${i + 1}: ${t}\n\n` +
        Array.from({ length: 6 }, (_, j) => `Paragraph ${j + 1} about ${t} explains how the ${t} stage keeps work moving, line ${i}-${j}.`).join('\n') +
        '\n',
    )
    .join('\n');
}

function queueDocument(env: Environment, name: string, text: string) {
  return env.addDocument(name, text);
}

describe('pipeline end to end (six processes, real NATS, Redis, MariaDB)', () => {
  let env: Environment;
  let docstore: DocStore;

  beforeAll(async () => {
    env = await createEnvironment({ PARSER_BATCH_CHUNKS: '3' });
    env.startAll();
  });

  afterAll(async () => {
    await docstore?.close();
    await env?.cleanup();
  });

  it('turns a queued RAGFlow task into indexed, embedded chunks and marks task and document done', async () => {
    const { kb, doc, tasks, tenantId } = await queueDocument(env, 'guide.md', sampleMarkdown());
    expect(tasks).toHaveLength(1);
    // enqueued exactly as RAGFlow's API server does: XADD <queue> * message <json>
    await env.producer.enqueue(env.queues[1]!, { ...tasks[0]! });

    const task = await env.waitFor('task progress 1', async () => {
      const t = await env.taskdb.getTask(tasks[0]!.id);
      if (t && t.progress < 0) throw new Error(`task failed: ${t.progress_msg}`);
      return t && t.progress >= 1 ? t : undefined;
    });
    expect(task.progress_msg).toContain('Task has been received.');
    expect(task.progress_msg).toContain('Start to parse.');
    expect(task.progress_msg).toMatch(/Task done \(\d+\.\d\ds\)/);

    const chunkIds = task.chunk_ids.split(' ').filter(Boolean);
    expect(chunkIds.length).toBeGreaterThan(3);
    docstore = env.docstore();
    const stored = await docstore.get(tenantId, chunkIds);
    expect(stored).toHaveLength(chunkIds.length);
    expect(await docstore.count(tenantId, { doc_id: doc.id })).toBe(chunkIds.length);
    for (const c of stored as StoredChunk[]) {
      expect(c.doc_id).toBe(doc.id);
      expect(c.kb_id).toBe(kb.id);
      expect(c.docnm_kwd).toBe('guide.md');
      expect(c.id).toMatch(/^[0-9a-f]{16}$/);
      expect(c.content_ltks.length).toBeGreaterThan(0);
      const vec = (c as Record<string, unknown>).q_1024_vec as number[];
      expect(vec).toHaveLength(1024);
      const norm = Math.sqrt(vec.reduce((s, x) => s + x * x, 0));
      expect(norm).toBeGreaterThan(0.5);
      expect(norm).toBeLessThan(1.01);
    }

    const d = await env.taskdb.getDocument(doc.id);
    expect(d!.run).toBe('3');
    expect(d!.progress).toBe(1);
    expect(d!.chunk_num).toBe(chunkIds.length);
    expect(d!.token_num).toBeGreaterThan(0);
    const k = await env.taskdb.getKnowledgebase(kb.id);
    expect(k!.chunk_num).toBe(chunkIds.length);

    const hits = await docstore.search({ tenantId, kbIds: [kb.id], query: 'embeddings stage', mode: 'fulltext', topK: 3 });
    expect(hits[0]!.content_with_weight).toContain('embeddings');
  });

  it('does not duplicate chunks or counts when the same task is enqueued twice', async () => {
    const { doc, tasks, tenantId } = await queueDocument(env, 'twice.md', sampleMarkdown().replace(/Chapter/g, 'Part'));
    const message = { ...tasks[0]! };
    await env.producer.enqueue(env.queues[1]!, message);
    await env.producer.enqueue(env.queues[1]!, message);
    await env.waitFor('task done', async () => {
      const t = await env.taskdb.getTask(tasks[0]!.id);
      return t && t.progress >= 1;
    });
    // once more after completion: the bridge must drop it as a duplicate
    await env.producer.enqueue(env.queues[1]!, message);
    await env.waitFor('third delivery consumed', async () => {
      const q = await queueStats(env.redis, env.queues[1]!, 'rag_flow_svr_task_broker');
      return q.pending === 0 && q.lag === 0;
    });
    await new Promise((r) => setTimeout(r, 1500));
    const t = await env.taskdb.getTask(tasks[0]!.id);
    const ids = t!.chunk_ids.split(' ').filter(Boolean);
    expect(new Set(ids).size).toBe(ids.length);
    docstore ??= env.docstore();
    expect(await docstore.count(tenantId, { doc_id: doc.id })).toBe(ids.length);
    const d = await env.taskdb.getDocument(doc.id);
    expect(d!.chunk_num).toBe(ids.length);
  });

  it('fails a task with a clear message when its object is missing, and keeps serving', async () => {
    const { tasks, doc, kb } = await queueDocument(env, 'gone.md', 'short text that will be deleted');
    await env.store.remove(kb.id, 'gone.md');
    await env.producer.enqueue(env.queues[1]!, { ...tasks[0]! });
    const t = await env.waitFor('task failed', async () => {
      const row = await env.taskdb.getTask(tasks[0]!.id);
      return row && row.progress === -1 ? row : undefined;
    });
    expect(t.progress_msg).toMatch(/parser failed: .*not found/i);
    const d = await env.taskdb.getDocument(doc.id);
    expect(d!.run).toBe('4');
    // the next task still goes through
    const next = await queueDocument(env, 'after.md', sampleMarkdown().replace(/Chapter/g, 'Section'));
    await env.producer.enqueue(env.queues[1]!, { ...next.tasks[0]! });
    await env.waitFor('next task done', async () => {
      const row = await env.taskdb.getTask(next.tasks[0]!.id);
      return row && row.progress >= 1;
    });
  });

  it('drains on SIGTERM and exits 0', async () => {
    for (const app of ['parser', 'enricher', 'embedder', 'indexer', 'monitor', 'ingest-bridge'] as const) {
      const code = await env.stop(`${app}.0`, 'SIGTERM');
      expect(code, `${app} exit code`).toBe(0);
    }
  });
});
