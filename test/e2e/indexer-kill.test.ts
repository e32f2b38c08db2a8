import { connectNats, ensureTopology } from '@ragline/bus';
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

describe('indexer killed with SIGKILL in the middle of indexing (five processes)', () => {
  let env: Environment;
  let docstore: DocStore | undefined;

  beforeAll(async () => {
    env = await createEnvironment({ PARSER_BATCH_CHUNKS: '2', INDEXER_CONCURRENCY: '2' });
    env.startAll();
  });
  afterAll(async () => {
    await docstore?.close();
    await env?.cleanup();
  });

  it('leaves every chunk in the store exactly once after a restart, with one completion and exact counts', async () => {
    const tenantId = await env.taskdb.ensureTenant({ name: 'kill', embdId: 'ragline-hash-1024@Ragline' });
    const kb = await env.taskdb.ensureKnowledgebase({
      name: 'kill',
      tenantId,
      embdId: 'ragline-hash-1024@Ragline',
      parserConfig: { chunk_token_num: 16, delimiter: '\n', layout_recognize: 'DeepDOC' },
    });
    const data = Buffer.from(longDocument(360));
    await env.store.put(kb.id, 'ledger.txt', data);
    const doc = await env.taskdb.createDocument({
      kbId: kb.id,
      name: 'ledger.txt',
      location: 'ledger.txt',
      size: data.byteLength,
      type: 'doc',
      suffix: 'txt',
      parserId: 'naive',
      parserConfig: kb.parser_config,
    });
    const [task] = await env.taskdb.queueDocument(doc.id);
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

    // Messages the dead process held come back after the consumer's 60 s ack wait. To keep this
    // test short the durable is reset instead, so the restarted indexer (which recreates it) gets
    // every unacknowledged message at once, exactly the set ack-wait expiry would redeliver.
    const nc = await connectNats({ url: env.env.NATS_URL });
    try {
      // the topology exists already (same options as the apps' defaults): this only hands back its manager
      const jsm = await ensureTopology(nc, env.names);
      await jsm.consumers.delete(env.names.streams.index, env.names.consumers.indexer);
    } finally {
      await nc.close();
    }
    env.start('indexer');

    const done = await env.waitFor('task done after restart', async () => {
      const t = await env.taskdb.getTask(task!.id);
      if (t && t.progress < 0) throw new Error(`task failed: ${t.progress_msg}`);
      return t && t.progress >= 1 ? t : undefined;
    });
    docstore = env.docstore();
    // task.chunk_ids is bookkeeping the monitor appends per batch event; an event redelivered after
    // the completion (its first delivery's write failed) lands a moment later, so wait for it to
    // cover what the store holds before comparing.
    const stored0 = await docstore.count(tenantId, { doc_id: doc.id });
    const settled = await env.waitFor('chunk_ids cover every stored chunk', async () => {
      const t = await env.taskdb.getTask(task!.id);
      return t && t.chunk_ids.split(' ').filter(Boolean).length >= stored0 ? t : undefined;
    }, 30_000);
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
