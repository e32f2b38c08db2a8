import { isTaskComplete } from '@ragline/bus';
import {
  ChunkBatch,
  EmbeddedBatch,
  IndexMessage,
  PipelineEvent,
  msgIds,
  packVector,
  unpackVector,
  type TaskContext,
} from '@ragline/contracts';
import { createHashingBackend, type EmbeddingBackend } from '@ragline/embedding';
import { tokenize, xxh64Hex } from '@ragline/parsing';
import { cancelTask } from '@ragline/redis-queue';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createEmbedHandler, createParseHandler, taskRef, type ParseLimits } from '../src/index.js';
import { chunksFor, logger, openStageWorld, tracer, type Received, type StageWorld, embeddedBatch, indexerFor, manifestFor } from './support/stage-env.js';

let w: StageWorld;
beforeEach(async () => {
  w = await openStageWorld();
});
afterEach(async () => {
  await w?.cleanup();
});

const DIM = 1024;

/** Eight sections of distinct prose, each around 40 tokens, so a 40-token chunk size gives several chunks. */
const TOPICS = ['Rivers', 'Mountains', 'Forests', 'Deserts', 'Glaciers', 'Islands', 'Volcanoes', 'Wetlands'];
const MARKDOWN = TOPICS.map(
  (t, i) =>
    `# ${t}\n\n${t} number ${i} shape the land in slow and patient ways. Scientists measure ${t.toLowerCase()} with satellites, ` +
    `field notes and long records kept by people who live beside them for many generations.\n`,
).join('\n');

function parseTask(overrides: Partial<TaskContext> = {}): TaskContext {
  return w.task('geography.md', { parser_config: { chunk_token_num: 40 }, ...overrides });
}

function parser(limits: Partial<ParseLimits> = {}) {
  return createParseHandler({
    store: w.store,
    publisher: w.publisher,
    names: w.names,
    isCancelled: w.isCancelled,
    progress: w.progress('parser'),
    logger,
    tracer,
    limits: { batchChunks: 3, ...limits },
  });
}

// the parser's batches go to the enricher (which passes them on to the embedder)
const readChunkBatches = () => w.read(w.names.streams.chunks, w.names.consumers.enricher, ChunkBatch);
const readIndexMessages = () => w.read(w.names.streams.index, w.names.consumers.indexer, IndexMessage);
const readEvents = () => w.read(w.names.streams.events, w.names.consumers.monitorEvents, PipelineEvent);

function ofKind<K extends PipelineEvent['kind']>(events: Received<PipelineEvent>[], kind: K) {
  return events.map((e) => e.msg).filter((e): e is Extract<PipelineEvent, { kind: K }> => e.kind === kind);
}

describe('parser stage', () => {
  it('publishes chunk batches with RAGFlow chunk fields, then a manifest that counts them, with progress around it', async () => {
    const task = parseTask();
    await w.store.put(task.bucket, task.location, Buffer.from(MARKDOWN));
    const ctx = w.ctx();

    await parser()(w.taskMessage(task), ctx);

    const batches = await readChunkBatches();
    expect(batches.length).toBeGreaterThanOrEqual(3);
    expect(batches.map((b) => b.msg.batch_no)).toEqual([...batches.keys()]);
    for (const [i, b] of batches.entries()) {
      expect(b.headers['Nats-Msg-Id']).toBe(msgIds.enrichBatch(task, i));
      expect(b.subject).toBe(w.names.subjects.enrich);
      expect(b.headers['Ragline-Task-Id']).toBe(task.task_id);
      expect(b.msg.task).toEqual(taskRef(task));
      // the task asks for no LLM work: nothing for the enricher to do
      expect(b.msg.enrich).toBeUndefined();
      // every batch is full except possibly the last
      expect(b.msg.chunks.length).toBe(i < batches.length - 1 ? 3 : b.msg.chunks.length);
      expect(b.msg.chunks.length).toBeLessThanOrEqual(3);
    }
    const chunks = batches.flatMap((b) => b.msg.chunks);
    for (const [i, c] of chunks.entries()) {
      expect(c.id).toBe(xxh64Hex(c.content_with_weight + task.doc_id));
      expect(c).toMatchObject({ doc_id: task.doc_id, kb_id: task.kb_id, docnm_kwd: 'geography.md', img_id: '' });
      // title tokens from the name without its extension, content tokens from the text (RAGFlow's rag_tokenizer)
      expect(c.title_tks).toBe(tokenize('geography'));
      expect(c.content_ltks).toBe(tokenize(c.content_with_weight));
      expect(c.content_ltks.length).toBeGreaterThan(0);
      expect(c.content_sm_ltks.length).toBeGreaterThan(0);
      // non-PDF chunks carry their index as page and position, as RAGFlow's add_positions([[ii]*5])
      expect(c.page_num_int).toEqual([i + 1]);
      expect(c.position_int).toEqual([[i + 1, i, i, i, i]]);
      expect(c.token_count).toBeGreaterThan(0);
      expect(c.token_count).toBeLessThanOrEqual(80);
    }
    expect(new Set(chunks.map((c) => c.id)).size).toBe(chunks.length);
    // nothing of the document is lost between sections and chunks
    const all = chunks.map((c) => c.content_with_weight).join('\n');
    for (const t of TOPICS) expect(all).toContain(`# ${t}`);

    const index = await readIndexMessages();
    expect(index).toHaveLength(1);
    expect(index[0]!.headers['Nats-Msg-Id']).toBe(msgIds.manifest(task));
    expect(index[0]!.msg).toMatchObject({ kind: 'manifest', batches: batches.length, chunks: chunks.length, task: taskRef(task) });

    const progress = ofKind(await readEvents(), 'progress');
    expect(progress.map((p) => [p.msg.split(':')[0], p.progress, p.stage])).toEqual([
      ['Start to parse.', 0.1, 'parser'],
      ['Finish parsing', 0.3, 'parser'],
    ]);
    expect(progress[1]!.msg).toContain(`${chunks.length} chunks in ${batches.length} batches`);
    expect(progress[0]!.page_range).toEqual({ from: 0, to: 100_000_000 });
    expect(ctx.workingCalls).toBeGreaterThanOrEqual(batches.length);
  });

  it("attaches the task's EnrichSpec to every batch when its parser_config asks for LLM work", async () => {
    const task = parseTask({
      llm_id: 'chat-model@Fixture',
      parser_config: { chunk_token_num: 40, auto_keywords: 4, auto_questions: 2 },
      kb_parser_config: { tag_kb_ids: ['tag-kb'], topn_tags: 2 },
    });
    await w.store.put(task.bucket, task.location, Buffer.from(MARKDOWN));
    await parser()(w.taskMessage(task), w.ctx());
    const batches = await readChunkBatches();
    expect(batches.length).toBeGreaterThan(1);
    for (const b of batches) {
      expect(b.msg.enrich).toMatchObject({ llm_id: 'chat-model@Fixture', language: 'English', auto_keywords: 4, auto_questions: 2, tag_kb_ids: ['tag-kb'], topn_tags: 2 });
    }
  });

  it("chunks with the task's method in the knowledge base's language (qa: RAGFlow's Chinese prefixes, tokens of the question)", async () => {
    const task = w.task('faq.txt', { parser_id: 'qa', language: 'Chinese', parser_config: {} });
    await w.store.put(task.bucket, task.location, Buffer.from('如何重置密码？\t在设置页面点击重置。\n怎样导出数据？\t使用导出按钮。\n'));
    await parser()(w.taskMessage(task), w.ctx());
    const chunks = (await readChunkBatches()).flatMap((b) => b.msg.chunks);
    expect(chunks.map((c) => c.content_with_weight)).toEqual(['问题：如何重置密码？\t回答：在设置页面点击重置。', '问题：怎样导出数据？\t回答：使用导出按钮。']);
    expect(chunks[0]!.content_ltks).toBe(tokenize('如何重置密码？'));
  });

  it('publishes nothing new when the same task is parsed again (message ids dedupe every message)', async () => {
    const task = parseTask();
    await w.store.put(task.bucket, task.location, Buffer.from(MARKDOWN));
    const handle = parser();
    await handle(w.taskMessage(task), w.ctx());
    const streams = [w.names.streams.chunks, w.names.streams.index, w.names.streams.events];
    const before = await Promise.all(streams.map((s) => w.count(s)));
    expect(before[0]).toBeGreaterThan(1);

    // a fresh handler too: dedupe must not depend on in-process memory
    await handle(w.taskMessage(task), w.ctx());
    await parser()(w.taskMessage(task), w.ctx());

    expect(await Promise.all(streams.map((s) => w.count(s)))).toEqual(before);
    expect(await readChunkBatches()).toHaveLength(before[0]!);
  });

  it('fails permanently, naming the object, when the document is missing from storage', async () => {
    const task = parseTask({ location: 'nowhere/geography.md' });
    const err = await parser()(w.taskMessage(task), w.ctx()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as { retryable?: boolean }).retryable).toBe(false);
    expect((err as Error).message).toContain(`${task.bucket}/nowhere/geography.md`);
    expect(await w.count(w.names.streams.chunks)).toBe(0);
    expect(await w.count(w.names.streams.index)).toBe(0);
  });

  it('fails a file over the size limit with the file name and the limit, for whole and ranged reads alike', async () => {
    for (const name of ['big.md', 'big.pdf']) {
      const task = parseTask({ doc_name: name, location: `over/${name}` });
      await w.store.put(task.bucket, task.location, Buffer.alloc(5000, 0x20));
      const err = await parser({ maxFileBytes: 4096 })(w.taskMessage(task), w.ctx()).catch((e: unknown) => e);
      expect((err as { retryable?: boolean }).retryable).toBe(false);
      expect((err as Error).message).toBe(`file too large: ${name} is 5000 bytes, the limit is 4096 bytes. Split the file and upload the parts.`);
    }
    expect(await w.count(w.names.streams.chunks)).toBe(0);
  });

  it('fails permanently with a clear message for an empty file', async () => {
    const task = parseTask();
    await w.store.put(task.bucket, task.location, Buffer.alloc(0));
    const err = await parser()(w.taskMessage(task), w.ctx()).catch((e: unknown) => e);
    expect((err as { retryable?: boolean }).retryable).toBe(false);
    expect((err as Error).message).toMatch(/empty file: geography\.md has no text/);
    expect(await w.count(w.names.streams.chunks)).toBe(0);
    expect(await w.count(w.names.streams.index)).toBe(0);
  });

  it('publishes no batches for a cancelled task, only a -1 "[Canceled]" progress event', async () => {
    const task = parseTask();
    await w.store.put(task.bucket, task.location, Buffer.from(MARKDOWN));
    await cancelTask(w.redis, task.task_id);

    await parser()(w.taskMessage(task), w.ctx());

    expect(await w.count(w.names.streams.chunks)).toBe(0);
    expect(await w.count(w.names.streams.index)).toBe(0);
    const events = (await readEvents()).map((e) => e.msg);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ kind: 'progress', task_id: task.task_id, progress: -1 });
    expect((events[0] as { msg: string }).msg).toContain('[Canceled]');
  });
});

/** A real backend that records every text list it is asked to embed. */
function counting(inner: EmbeddingBackend): EmbeddingBackend & { calls: string[][] } {
  const calls: string[][] = [];
  return {
    calls,
    name: inner.name,
    model: inner.model,
    maxTokens: inner.maxTokens,
    dimension: () => inner.dimension(),
    embed(texts, signal) {
      calls.push([...texts]);
      return inner.embed(texts, signal);
    },
  };
}

const norm = (v: Float32Array): number => Math.sqrt(v.reduce((s, x) => s + x * x, 0));

function chunkBatch(task: TaskContext, batchNo: number, texts: string[]): ChunkBatch {
  return ChunkBatch.parse({ v: 1, kind: 'chunks', task: taskRef(task), batch_no: batchNo, chunks: chunksFor(task, texts) });
}

describe('embedder stage', () => {
  const TEXTS = ['Rivers carve valleys over millennia.', 'Glaciers grind mountains into gravel.', 'Wetlands filter water for the towns below.'];

  function embedder(backend: EmbeddingBackend) {
    return createEmbedHandler({ backend, publisher: w.publisher, names: w.names, isCancelled: w.isCancelled, logger, tracer, batchSize: 16 });
  }

  it('turns a chunk batch into an embedded batch of packed unit-ish vectors, embedding the title once per task', async () => {
    const backend = counting(createHashingBackend({ dim: DIM }));
    const handle = embedder(backend);
    const task = w.task('field-notes.txt');
    const first = chunkBatch(task, 0, TEXTS);

    await handle(first, w.ctx());
    expect(backend.calls).toEqual([['field-notes.txt'], TEXTS]);

    // the same texts again as another batch of the task: only the contents are embedded
    await handle(chunkBatch(task, 1, TEXTS), w.ctx());
    expect(backend.calls).toEqual([['field-notes.txt'], TEXTS, TEXTS]);

    const out = (await w.read(w.names.streams.index, w.names.consumers.indexer, EmbeddedBatch)).sort((a, b) => a.msg.batch_no - b.msg.batch_no);
    expect(out.map((o) => o.msg.batch_no)).toEqual([0, 1]);
    const [b0, b1] = [out[0]!, out[1]!];
    expect(b0.headers['Nats-Msg-Id']).toBe(msgIds.embeddedBatch(task, 0));
    expect(b0.msg).toMatchObject({ kind: 'embedded', model: backend.model, task: taskRef(task) });
    expect(b0.msg.chunks).toEqual(first.chunks);
    expect(b0.msg.vectors.dim).toBe(DIM);
    expect(b0.msg.vectors.data).toHaveLength(TEXTS.length);
    const v0 = b0.msg.vectors.data.map((d) => unpackVector(d, DIM));
    for (const v of v0) {
      // 0.1 * title + 0.9 * content of two unit vectors, not re-normalised (RAGFlow)
      expect(norm(v)).toBeGreaterThan(0.8);
      expect(norm(v)).toBeLessThanOrEqual(1.0001);
    }
    expect(v0[0]).not.toEqual(v0[1]);
    expect(b0.msg.tokens).toBeGreaterThan(0);
    // the cached title vector is the one embedded for batch 0, and its tokens are counted once
    expect(b1.msg.vectors.data).toEqual(b0.msg.vectors.data);
    expect(b1.msg.tokens).toBeGreaterThan(0);
    expect(b1.msg.tokens).toBeLessThan(b0.msg.tokens);
  });

  it('drops the batch of a cancelled task without calling the model', async () => {
    const backend = counting(createHashingBackend({ dim: DIM }));
    const task = w.task('field-notes.txt');
    await cancelTask(w.redis, task.task_id);

    await embedder(backend)(chunkBatch(task, 0, TEXTS), w.ctx());

    expect(backend.calls).toEqual([]);
    // no embedded batch, only the notice that lets the indexer handle the cancel
    const index = await w.read(w.names.streams.index, w.names.consumers.indexer, IndexMessage);
    expect(index.map((m) => m.msg.kind)).toEqual(['cancelled']);
  });
});

describe('indexer stage', () => {
  const BATCH_TEXTS = [
    ['Alpha rivers run north.', 'Beta rivers run south.'],
    ['Gamma glaciers retreat.', 'Delta glaciers advance.', 'Epsilon ice shelves crack.'],
    ['Zeta wetlands store carbon.'],
  ];

  const indexer = () => indexerFor(w);

  it.each(['first', 'last'] as const)(
    'indexes every chunk exactly once and completes once, batches out of order and redelivered, manifest %s',
    async (manifestAt) => {
      const task = w.task('atlas.txt');
      const batches = await Promise.all(BATCH_TEXTS.map((t, i) => embeddedBatch(task, i, t)));
      const totalChunks = BATCH_TEXTS.flat().length;
      const totalTokens = batches.reduce((s, b) => s + b.tokens, 0);
      const handle = indexer();
      const deliveries: IndexMessage[] = [batches[2]!, batches[0]!, batches[2]!, batches[1]!, batches[0]!];
      if (manifestAt === 'first') deliveries.unshift(manifestFor(task, 3, totalChunks));
      else deliveries.push(manifestFor(task, 3, totalChunks));

      for (const m of deliveries) await handle(m, w.ctx());
      // a batch redelivered after completion changes nothing
      await handle(batches[1]!, w.ctx());

      expect(await w.docstore.count(task.tenant_id, { doc_id: task.doc_id })).toBe(totalChunks);
      const ids = batches.flatMap((b) => b.chunks.map((c) => c.id));
      const stored = await w.docstore.get(task.tenant_id, ids);
      expect(stored.map((s) => s.id)).toEqual(ids);
      for (const [i, s] of stored.entries()) {
        const b = batches.find((x) => x.chunks.some((c) => c.id === s.id))!;
        const j = b.chunks.findIndex((c) => c.id === s.id);
        expect(s.kb_id).toBe(task.kb_id);
        expect(s.content_with_weight).toBe(BATCH_TEXTS.flat()[i]);
        expect(s[`q_${DIM}_vec`]).toEqual(Array.from(unpackVector(b.vectors.data[j]!, DIM)));
      }

      const events = await readEvents();
      const completed = ofKind(events, 'completed');
      expect(completed).toHaveLength(1);
      expect(completed[0]).toMatchObject({ task_id: task.task_id, doc_id: task.doc_id, kb_id: task.kb_id, chunks: totalChunks, tokens: totalTokens, batches: 3 });
      const indexed = ofKind(events, 'batch_indexed');
      expect(indexed.map((e) => e.batch_no).sort()).toEqual([0, 1, 2]);
      for (const e of indexed) expect(e.chunk_ids).toEqual(batches[e.batch_no]!.chunks.map((c) => c.id));
      if (manifestAt === 'first') expect(indexed.map((e) => e.total_batches)).toEqual([3, 3, 3]);
      else expect(indexed.map((e) => e.total_batches)).toEqual([null, null, null]);

      const state = await w.taskState.get(task.task_id);
      expect(isTaskComplete(state)).toBe(true);
      expect(state.completedAt).not.toBeNull();
      expect(state).toMatchObject({ batches: [0, 1, 2], chunks: totalChunks, tokens: totalTokens, expectedBatches: 3 });
    },
  );

  it('completes a task whose manifest has no batches at once', async () => {
    const task = w.task('blank-ish.txt');
    await indexer()(manifestFor(task, 0, 0), w.ctx());
    const completed = ofKind(await readEvents(), 'completed');
    expect(completed).toHaveLength(1);
    expect(completed[0]).toMatchObject({ task_id: task.task_id, chunks: 0, tokens: 0, batches: 0 });
  });

  it('removes what was indexed for a task cancelled mid-way and reports -1', async () => {
    const task = w.task('atlas.txt');
    const batches = await Promise.all(BATCH_TEXTS.map((t, i) => embeddedBatch(task, i, t)));
    const handle = indexer();
    await handle(manifestFor(task, 3, BATCH_TEXTS.flat().length), w.ctx());
    await handle(batches[0]!, w.ctx());
    await handle(batches[1]!, w.ctx());
    // another document of the same knowledge base must survive the cancellation
    const other = w.task('other.txt', { tenant_id: task.tenant_id, kb_id: task.kb_id, bucket: task.bucket });
    await handle(await embeddedBatch(other, 0, ['Unrelated harbour notes.']), w.ctx());
    expect(await w.docstore.count(task.tenant_id, { doc_id: task.doc_id })).toBe(5);

    await cancelTask(w.redis, task.task_id);
    await handle(batches[2]!, w.ctx());

    expect(await w.docstore.count(task.tenant_id, { doc_id: task.doc_id })).toBe(0);
    expect(await w.docstore.count(task.tenant_id, { doc_id: other.doc_id })).toBe(1);
    const events = (await readEvents()).map((e) => e.msg).filter((e) => e.task_id === task.task_id);
    expect(events.filter((e) => e.kind === 'completed')).toHaveLength(0);
    const cancelled = events.filter((e) => e.kind === 'progress');
    expect(cancelled).toHaveLength(1);
    expect(cancelled[0]).toMatchObject({ progress: -1, stage: 'indexer' });
    expect((cancelled[0] as { msg: string }).msg).toMatch(/removed 5 indexed chunks\. \[Canceled\]/);
  });

  it('reports a task cancelled before anything was indexed for its tenant, and never completes it', async () => {
    const task = w.task('atlas.txt');
    await cancelTask(w.redis, task.task_id);
    await indexer()(manifestFor(task, 0, 0), w.ctx());
    const events = (await readEvents()).map((e) => e.msg);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ kind: 'progress', progress: -1, msg: 'Task has been cancelled; removed 0 indexed chunks. [Canceled]' });
  });

  it('fails permanently when the doc store rejects a chunk, and records no batch for it', async () => {
    const task = w.task('atlas.txt');
    const good = await embeddedBatch(task, 0, BATCH_TEXTS[0]!);
    const nan = new Float32Array(DIM).fill(0.01);
    nan[7] = Number.NaN;
    const bad: EmbeddedBatch = { ...good, vectors: { ...good.vectors, data: [good.vectors.data[0]!, packVector(nan)] } };

    const err = await indexer()(bad, w.ctx()).catch((e: unknown) => e);

    expect((err as { retryable?: boolean }).retryable).toBe(false);
    expect((err as Error).message).toMatch(/doc store rejected 1 of 2 chunks, first [0-9a-f]{16}: .*non-finite/);
    expect((await w.taskState.get(task.task_id)).batches).toEqual([]);
    expect(ofKind(await readEvents(), 'batch_indexed')).toHaveLength(0);
  });

  it('fails permanently for a vector whose length does not match the batch dimension', async () => {
    const task = w.task('atlas.txt');
    const good = await embeddedBatch(task, 0, BATCH_TEXTS[0]!);
    const short: EmbeddedBatch = { ...good, vectors: { ...good.vectors, data: [good.vectors.data[0]!, packVector(new Float32Array(512).fill(0.1))] } };
    const err = await indexer()(short, w.ctx()).catch((e: unknown) => e);
    expect((err as { retryable?: boolean }).retryable).toBe(false);
    expect((err as Error).message).toMatch(/512 dims, expected 1024/);
    expect(await w.docstore.count(task.tenant_id, { doc_id: task.doc_id }).catch(() => 0)).toBe(0);
  });
});
