import type { DocStore } from '@ragline/docstore';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEnvironment, type Environment } from '../support/pipeline.js';

/** Hundreds of distinct lines: one chunk each at a small chunk size, so two-chunk batches number in the hundreds. */
function longDocument(lines: number): string {
  return Array.from(
    { length: lines },
    (_, i) => `Ledger entry ${i}: the harbour office logged vessel ${i * 7 + 3} arriving at berth ${i % 17} with cargo lot ${i * 13 + 1}.`,
  ).join('\n');
}

describe('indexer killed with SIGKILL in the middle of indexing (six processes)', () => {
  let env: Environment;
  let docstore: DocStore | undefined;

  beforeAll(async () => {
    env = await createEnvironment({ PARSER_BATCH_CHUNKS: '2', INDEXER_CONCURRENCY: '2', NATS_ACK_WAIT_MS: '3000' });
    env.startAll();
  });
  afterAll(async () => {
    await docstore?.close();
    await env?.cleanup();
  });

  it('leaves every chunk in the store exactly once after a restart, with one completion and exact counts', async () => {
    const { kb, doc, tasks, tenantId } = await env.addDocument('ledger.txt', longDocument(360), {
      kb: 'kill',
      parserConfig: { chunk_token_num: 16, delimiter: '\n', layout_recognize: 'DeepDOC' },
    });
    const [task] = tasks;
    await env.producer.enqueue(env.queues[1]!, { ...task! });

    // some batches in the store and recorded, the task far from done: kill the indexer there
    const atKill = await env.waitFor(
      'indexing under way',
      async () => {
        const t = await env.taskdb.getTask(task!.id);
        if (t && t.progress < 0) throw new Error(`task failed: ${t.progress_msg}`);
        const n = t?.chunk_ids.split(' ').filter(Boolean).length ?? 0;
        return n >= 20 ? n : undefined;
      },
      150_000,
    );
    await env.stop('indexer.0', 'SIGKILL');
    expect(env.procs.get('indexer.0')!.signalCode).toBe('SIGKILL');
    const afterKill = await env.taskdb.getTask(task!.id);
    expect(afterKill!.progress).toBeLessThan(1);

    // Messages the dead process held come back once the consumer's ack wait (3 s here) passes.
    env.start('indexer');

    const done = await env.waitFor('task done after restart', async () => {
      const t = await env.taskdb.getTask(task!.id);
      if (t && t.progress < 0) throw new Error(`task failed: ${t.progress_msg}`);
      return t && t.progress >= 1 ? t : undefined;
    });
    docstore = env.docstore();
    // the monitor holds a completion until every batch event is recorded, so chunk_ids is whole now
    const settled = done;
    const chunkIds = settled.chunk_ids.split(' ').filter(Boolean);
    const distinct = new Set(chunkIds);
    expect(distinct.size).toBe(chunkIds.length);
    expect(chunkIds.length).toBeGreaterThan(atKill);
    expect(chunkIds.length).toBeGreaterThanOrEqual(300);

    expect(await docstore.count(tenantId, { doc_id: doc.id })).toBe(distinct.size);
    const stored = await docstore.get(tenantId, chunkIds);
    expect(stored.map((c) => c.id)).toEqual(chunkIds);

    expect(done.progress_msg.match(/Task done/g)).toHaveLength(1);
    const d = await env.taskdb.getDocument(doc.id);
    expect(d).toMatchObject({ chunk_num: distinct.size, run: '3', progress: 1 });
    const k = await env.taskdb.getKnowledgebase(kb.id);
    expect(k!.chunk_num).toBe(distinct.size);
  });
});
