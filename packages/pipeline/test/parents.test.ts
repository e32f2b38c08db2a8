import { isTaskComplete } from '@ragline/bus';
import { ChunkBatch, EmbeddedBatch, IndexMessage, ParentChunk, PipelineEvent, msgIds, packVector, type ParentBatch, type TaskContext } from '@ragline/contracts';
import { xxh64Hex } from '@ragline/parsing';
import { cancelTask } from '@ragline/redis-queue';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createParseHandler, taskRef } from '../src/index.js';
import { HASH_DIM, hashingBackend, indexerFor, logger, openStageWorld, tracer, type StageWorld } from './support/stage-env.js';

/**
 * children_delimiter end to end over real NATS and Redis with the embedded doc store: the parser
 * makes children (with mom_id) and parent records (RAGFlow insert_chunks' mothers), the children
 * take the normal path, the parents go straight to the indexer, and completion counts both batches
 * while chunk counts hold children only.
 */
let w: StageWorld;
beforeEach(async () => {
  w = await openStageWorld();
});
afterEach(async () => {
  await w?.cleanup();
});

const TOPICS = ['Rivers', 'Mountains', 'Forests', 'Deserts', 'Glaciers', 'Islands', 'Volcanoes', 'Wetlands'];
const MARKDOWN = TOPICS.map(
  (t, i) => `# ${t}\n\n${t} number ${i} shape the land in slow and patient ways. Scientists measure ${t.toLowerCase()} with satellites and field notes.\n`,
).join('\n');

function parser() {
  return createParseHandler({
    store: w.store,
    publisher: w.publisher,
    names: w.names,
    isCancelled: w.isCancelled,
    progress: w.progress('parser'),
    logger,
    tracer,
    limits: { batchChunks: 3 },
  });
}

const readChunkBatches = () => w.read(w.names.streams.chunks, w.names.consumers.enricher, ChunkBatch);
const readIndexMessages = () => w.read(w.names.streams.index, w.names.consumers.indexer, IndexMessage);
const readEvents = () => w.read(w.names.streams.events, w.names.consumers.monitorEvents, PipelineEvent);

async function parse(over: Partial<TaskContext>) {
  const task = w.task('geography.md', { parser_config: { chunk_token_num: 40, children_delimiter: '`.`' }, ...over });
  await w.store.put(task.bucket, task.location, Buffer.from(MARKDOWN));
  await parser()(w.taskMessage(task), w.ctx());
  const batches = (await readChunkBatches()).map((r) => r.msg);
  const index = await readIndexMessages();
  return { task, batches, index };
}

/** what the embedder would send for a chunk batch, embedded by the hashing backend */
async function embed(b: ChunkBatch): Promise<EmbeddedBatch> {
  const { vectors, tokens } = await hashingBackend.embed(b.chunks.map((c) => c.content_with_weight));
  return EmbeddedBatch.parse({
    v: 1,
    kind: 'embedded',
    task: b.task,
    batch_no: b.batch_no,
    model: hashingBackend.model,
    tokens,
    chunks: b.chunks,
    vectors: { encoding: 'f32le-base64', dim: HASH_DIM, data: vectors.map(packVector) },
  });
}

describe('children_delimiter: parent records', () => {
  it('the parser sends children with mom_id through the chunk path and their parents to the indexer, counted in the manifest', async () => {
    const { task, batches, index } = await parse({});
    const children = batches.flatMap((b) => b.chunks);
    // one parent per merged chunk here, each cut into sentences on "."
    expect(children.length).toBeGreaterThan(TOPICS.length);
    for (const c of children) {
      const mom = c['mom_with_weight'] as string;
      expect(typeof mom).toBe('string');
      expect(mom).toContain(c.content_with_weight.replace(/^\n/, ''));
      expect(c['mom_id']).toBe(xxh64Hex(mom));
      expect(c.id).toBe(xxh64Hex(c.content_with_weight + task.doc_id));
    }

    const parentMsgs = index.filter((m) => m.msg.kind === 'parents');
    const manifest = index.find((m) => m.msg.kind === 'manifest')!.msg;
    expect(parentMsgs.length).toBeGreaterThan(1);
    // numbered after the chunk batches, on their own subject and message ids
    expect(parentMsgs.map((m) => (m.msg as ParentBatch).batch_no)).toEqual(parentMsgs.map((_, i) => batches.length + i));
    for (const m of parentMsgs) {
      expect(m.subject).toBe(w.names.subjects.parents);
      expect(m.headers['Nats-Msg-Id']).toBe(msgIds.parentBatch(task, (m.msg as ParentBatch).batch_no));
    }
    expect(manifest).toMatchObject({ batches: batches.length + parentMsgs.length, chunks: children.length });

    const parents = parentMsgs.flatMap((m) => (m.msg as ParentBatch).parents);
    const moms = [...new Set(children.map((c) => c['mom_with_weight'] as string))];
    expect(parents.map((p) => p.content_with_weight)).toEqual(moms);
    for (const p of parents) {
      const first = children.find((c) => c['mom_id'] === p.id)!;
      // RAGFlow's fields only, copied from the first child, available_int 0
      expect(p).toEqual({
        id: xxh64Hex(p.content_with_weight),
        content_with_weight: first['mom_with_weight'],
        doc_id: task.doc_id,
        docnm_kwd: 'geography.md',
        kb_id: task.kb_id,
        available_int: 0,
        position_int: first.position_int,
        create_timestamp_flt: first.create_timestamp_flt,
        page_num_int: first.page_num_int,
        top_int: first.top_int,
      });
      expect(ParentChunk.safeParse(p).success).toBe(true);
    }
  });

  it('makes no children or parents for a method other than naive, as RAGFlow', async () => {
    const { batches, index } = await parse({ parser_id: 'book' });
    expect(batches.flatMap((b) => b.chunks).some((c) => 'mom_id' in c || 'mom_with_weight' in c)).toBe(false);
    expect(index.map((m) => m.msg.kind)).toEqual(['manifest']);
    expect(index[0]!.msg).toMatchObject({ batches: batches.length });
  });

  it('the indexer stores parents unsearchable and vectorless, completes once after every batch, and counts children only', async () => {
    const { task, batches, index } = await parse({});
    const embedded = await Promise.all(batches.map(embed));
    const parentMsgs = index.map((m) => m.msg).filter((m): m is ParentBatch => m.kind === 'parents');
    const manifest = index.map((m) => m.msg).find((m) => m.kind === 'manifest')!;
    const children = batches.flatMap((b) => b.chunks);
    const parents = parentMsgs.flatMap((m) => m.parents);
    const handle = indexerFor(w);

    // out of order and redelivered; the parents last but one, so completion must wait for them
    const deliveries: IndexMessage[] = [manifest, ...embedded.slice().reverse(), embedded[0]!, ...parentMsgs.slice(1), parentMsgs[1]!];
    for (const m of deliveries) await handle(m, w.ctx());
    let events = (await readEvents()).map((e) => e.msg);
    expect(events.filter((e) => e.kind === 'completed')).toHaveLength(0);
    await handle(parentMsgs[0]!, w.ctx());
    await handle(parentMsgs[0]!, w.ctx());

    events = [...events, ...(await readEvents()).map((e) => e.msg)];
    const completed = events.filter((e) => e.kind === 'completed');
    expect(completed).toHaveLength(1);
    const tokens = embedded.reduce((s, b) => s + b.tokens, 0);
    expect(completed[0]).toMatchObject({ chunks: children.length, tokens, batches: batches.length + parentMsgs.length });
    const indexed = events.filter((e) => e.kind === 'batch_indexed');
    for (const e of indexed) {
      if (e.batch_no < batches.length) expect(e.chunk_ids).toEqual(batches[e.batch_no]!.chunks.map((c) => c.id));
      else expect(e).toMatchObject({ chunk_ids: [], tokens: 0 });
    }
    const state = await w.taskState.get(task.task_id);
    expect(isTaskComplete(state)).toBe(true);
    expect(state).toMatchObject({ chunks: children.length, tokens, expectedBatches: batches.length + parentMsgs.length });

    // stored as written, without a vector; reachable from a child's mom_id, as retrieval_by_children reads it
    const stored = await w.docstore.get(task.tenant_id, parents.map((p) => p.id));
    expect(stored).toEqual(parents);
    expect(stored.every((d) => Object.keys(d).every((k) => !/^q_\d+_vec$/.test(k)))).toBe(true);
    expect(await w.docstore.count(task.tenant_id, { doc_id: task.doc_id })).toBe(children.length + parents.length);
    for (const mode of ['fulltext', 'hybrid'] as const) {
      const vector = (await hashingBackend.embed(['Scientists measure rivers'])).vectors[0]!;
      const hits = await w.docstore.search({ tenantId: task.tenant_id, query: 'scientists measure rivers patient ways', vector: Array.from(vector), mode, topK: 50 });
      expect(hits.length).toBeGreaterThan(0);
      const parentIds = new Set(parents.map((p) => p.id));
      expect(hits.filter((h) => parentIds.has(h.id))).toEqual([]);
      const [child] = await w.docstore.get(task.tenant_id, [hits[0]!.id]);
      expect(parentIds.has(child!['mom_id'] as string)).toBe(true);
    }
  });

  it('a cancel removes the parents with the children, whichever arrived', async () => {
    const { task, batches, index } = await parse({});
    const embedded = await Promise.all(batches.map(embed));
    const parentMsgs = index.map((m) => m.msg).filter((m): m is ParentBatch => m.kind === 'parents');
    const handle = indexerFor(w);
    await handle(parentMsgs[0]!, w.ctx());
    await handle(embedded[0]!, w.ctx());
    const written = parentMsgs[0]!.parents.length + embedded[0]!.chunks.length;
    expect(await w.docstore.count(task.tenant_id, { doc_id: task.doc_id })).toBe(written);

    await cancelTask(w.redis, task.task_id);
    await handle(parentMsgs[1]!, w.ctx());
    expect(await w.docstore.count(task.tenant_id, { doc_id: task.doc_id })).toBe(0);
    expect(await w.docstore.get(task.tenant_id, parentMsgs.flatMap((m) => m.parents.map((p) => p.id)))).toEqual([]);
    const progress = (await readEvents()).map((e) => e.msg).filter((e) => e.kind === 'progress' && e.stage === 'indexer');
    expect(progress).toMatchObject([{ progress: -1 }]);
    expect((progress[0] as { msg: string }).msg).toContain(`removed ${written} indexed chunks`);
    // a redelivered parent batch of the cancelled task writes nothing
    await handle(parentMsgs[0]!, w.ctx());
    expect(await w.docstore.count(task.tenant_id, { doc_id: task.doc_id })).toBe(0);
  });
});
