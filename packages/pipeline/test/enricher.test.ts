import { ChunkBatch, EmbeddedBatch, IndexMessage, PipelineEvent, msgIds, type EnrichSpecInput, type TaskContext } from '@ragline/contracts';
import { createChatRegistry, createEnricher, type ChatBackendSpec } from '@ragline/enrichment';
import { startChatFixture, type ChatFixture } from '@ragline/enrichment/testing';
import { cancelTask } from '@ragline/redis-queue';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createEmbedHandler, createEnrichHandler, enrichTallyKeys, taskRef, type ChunkEnricher } from '../src/index.js';
import { chunksFor, hashingBackend, indexerFor, logger, manifestFor, openStageWorld, tracer, type StageWorld } from './support/stage-env.js';

const TEXTS = ['Harbour cranes lift containers onto ships.', 'Tugboats guide tankers into the port.', 'Pilots board at the breakwater.'];

let chat: ChatFixture;
let w: StageWorld;
beforeAll(async () => {
  chat = await startChatFixture();
});
afterAll(async () => {
  await chat?.close();
});
beforeEach(async () => {
  w = await openStageWorld();
  chat.reset();
});
afterEach(async () => {
  await w?.cleanup();
});

const spec = (over: Partial<EnrichSpecInput> = {}): EnrichSpecInput => ({ llm_id: 'fixture-chat@OpenAI-API-Compatible', language: 'English', ...over });

function enricherFor(backend: Partial<ChatBackendSpec> = {}) {
  const registry = createChatRegistry({
    defaultSpec: { baseUrl: chat.url, model: 'fixture-chat', timeoutMs: 2000, maxRetries: 2, retryBaseMs: 10, maxRetryDelayMs: 200, ...backend },
    maxConcurrentChats: 4,
  });
  return { registry, enricher: createEnricher({ registry, redis: w.redis, tracer, logger }) };
}

function handlerFor(enricher: () => ChunkEnricher) {
  return createEnrichHandler({
    enricher,
    publisher: w.publisher,
    names: w.names,
    isCancelled: w.isCancelled,
    progress: w.progress('enricher'),
    redis: w.redis,
    logger,
    tracer,
  });
}

function batchOf(task: TaskContext, batchNo: number, texts: string[], enrich?: EnrichSpecInput, batches = 1): ChunkBatch {
  return ChunkBatch.parse({
    v: 1,
    kind: 'chunks',
    task: taskRef(task),
    batch_no: batchNo,
    chunks: chunksFor(task, texts),
    ...(enrich && { enrich, batches }),
  });
}

const forwarded = () => w.read(w.names.streams.chunks, w.names.consumers.embedder, ChunkBatch);
const events = async () => (await w.read(w.names.streams.events, w.names.consumers.monitorEvents, PipelineEvent)).map((e) => e.msg);

describe('enricher stage', () => {
  it('passes a batch that asks for nothing on untouched, without building a chat client or calling one', async () => {
    const task = w.task('port.txt');
    let built = 0;
    const handle = handlerFor(() => {
      built++;
      return enricherFor().enricher;
    });
    const batch = batchOf(task, 0, TEXTS);
    await handle(batch, w.ctx());
    const out = await forwarded();
    expect(out).toHaveLength(1);
    expect(out[0]!.subject).toBe(w.names.subjects.chunks);
    expect(out[0]!.headers['Nats-Msg-Id']).toBe(msgIds.chunkBatch(task, 0));
    expect(out[0]!.msg).toEqual(batch);
    expect(built).toBe(0);
    expect(chat.requests).toHaveLength(0);
  });

  it('adds keywords and questions that reach the indexed chunks, with progress in the enricher band', async () => {
    const task = w.task('port.txt');
    const { enricher } = enricherFor();
    const handle = handlerFor(() => enricher);
    const s = spec({ auto_keywords: 2, auto_questions: 1 });
    const ctx = w.ctx();
    await handle(batchOf(task, 0, TEXTS.slice(0, 2), s, 2), ctx);
    await handle(batchOf(task, 1, TEXTS.slice(2), s, 2), w.ctx());
    // one keywords and one questions call per chunk
    expect(chat.requests).toHaveLength(6);
    expect(ctx.workingCalls).toBeGreaterThan(0);

    const out = await forwarded();
    expect(out.map((o) => o.headers['Nats-Msg-Id'])).toEqual([msgIds.chunkBatch(task, 0), msgIds.chunkBatch(task, 1)]);
    const chunks = out.flatMap((o) => o.msg.chunks);
    // the fixture answers with the passage's first words: "Harbour, cranes" / "What is Harbour?",
    // split on "," and kept unstripped as RAGFlow's keyword_extraction result is
    expect(chunks[0]!.important_kwd).toEqual(['Harbour', ' cranes']);
    expect(chunks[0]!.question_kwd).toEqual(['What is Harbour?']);
    expect(typeof chunks[0]!.important_tks).toBe('string');
    expect(chunks[2]!.important_kwd).toEqual(['Pilots', ' board']);
    for (const o of out) expect(o.msg.enrich).toBeUndefined();

    // through the embedder (questions embedded instead of the content) and the indexer
    const embed = createEmbedHandler({ backend: hashingBackend, publisher: w.publisher, names: w.names, isCancelled: w.isCancelled, logger, tracer });
    for (const o of out) await embed(o.msg, w.ctx());
    const index = indexerFor(w);
    for (const m of await w.read(w.names.streams.index, w.names.consumers.indexer, IndexMessage)) await index(m.msg, w.ctx());
    await index(manifestFor(task, 2, 3), w.ctx());
    const stored = await w.docstore.get(task.tenant_id, [chunks[0]!.id]);
    expect(stored[0]).toMatchObject({ important_kwd: ['Harbour', ' cranes'], question_kwd: ['What is Harbour?'] });
    // the embedder embedded the question, not the content, as RAGFlow does (title mixed in at 0.1)
    const [q, content, title] = (await hashingBackend.embed(['What is Harbour?', TEXTS[0]!, 'port.txt'])).vectors;
    const expected = q!.map((x, i) => 0.9 * x + 0.1 * title![i]!);
    const vec = stored[0]!['q_1024_vec' as `q_${number}_vec`] as number[];
    const cos = (a: ArrayLike<number>, b: ArrayLike<number>) => {
      let d = 0, na = 0, nb = 0;
      for (let i = 0; i < a.length; i++) (d += a[i]! * b[i]!), (na += a[i]! ** 2), (nb += b[i]! ** 2);
      return d / Math.sqrt(na * nb);
    };
    expect(cos(vec, expected)).toBeGreaterThan(0.999);
    expect(cos(vec, content!)).toBeLessThan(0.9);
    const hits = await w.docstore.search({ tenantId: task.tenant_id, kbIds: [task.kb_id], query: 'What is Pilots', mode: 'fulltext' });
    expect(hits[0]!.id).toBe(chunks[2]!.id);

    const progress = (await events()).filter((e) => e.kind === 'progress' && e.stage === 'enricher');
    const values = progress.map((p) => (p.kind === 'progress' ? p.progress! : NaN));
    expect(values).toHaveLength(3);
    [0.3, 0.45, 0.6].forEach((v, i) => expect(values[i]).toBeCloseTo(v, 10));
    const lines = progress.map((p) => (p.kind === 'progress' ? p.msg : '')).filter(Boolean);
    expect(lines[0]).toMatch(/^Start to enrich chunks with fixture-chat@OpenAI-API-Compatible: keywords \(2\), questions \(1\)\.$/);
    expect(lines[1]).toBe('Enrichment of 3 chunks done (keywords (2), questions (1)): 6 LLM calls, 0 answers from the LLM cache.');
  });

  it('answers a redelivered or re-parsed batch from the LLM cache: no chat call, the same chunks, counted once', async () => {
    const task = w.task('port.txt');
    const { enricher } = enricherFor();
    const handle = handlerFor(() => enricher);
    const batch = batchOf(task, 0, TEXTS, spec({ auto_keywords: 3, auto_questions: 2 }));
    await handle(batch, w.ctx());
    const first = (await forwarded())[0]!.msg;
    const calls = chat.requests.length;
    expect(calls).toBe(6);

    // a re-parse of the same document: another task, same chunk texts
    const again = w.task('port.txt', { doc_id: task.doc_id, kb_id: task.kb_id, tenant_id: task.tenant_id });
    await handle(batchOf(again, 0, TEXTS, spec({ auto_keywords: 3, auto_questions: 2 })), w.ctx());
    await handle(batch, w.ctx({ deliveryCount: 2 }));
    expect(chat.requests).toHaveLength(calls);
    const [second] = await forwarded();
    const enriched = (c: ChunkBatch['chunks'][number]) => [c.id, c.important_kwd, c.important_tks, c.question_kwd, c.question_tks];
    expect(second!.msg.chunks.map(enriched)).toEqual(first.chunks.map(enriched));
    const counts = await w.redis.hgetall(enrichTallyKeys(task.task_id)[1]);
    expect(counts).toEqual({ chunks: '3', calls: '6', hits: '0' });
    expect(await w.redis.hgetall(enrichTallyKeys(again.task_id)[1])).toEqual({ chunks: '3', calls: '0', hits: '6' });
  });

  it('retries a 429 with its Retry-After and a 500 inside the client, and hands a hang back as retryable', async () => {
    const task = w.task('port.txt');
    const { enricher } = enricherFor({ timeoutMs: 300, maxRetries: 2 });
    const handle = handlerFor(() => enricher);
    chat.fail({ kind: 'status', status: 429, retryAfter: '0' }, { kind: 'status', status: 500 });
    await handle(batchOf(task, 0, TEXTS.slice(0, 1), spec({ auto_keywords: 2 })), w.ctx());
    expect(chat.requests.map((r) => r.status)).toEqual([429, 500, 200]);
    expect((await forwarded())[0]!.msg.chunks[0]!.important_kwd).toEqual(['Harbour', ' cranes']);

    // a server that never answers: every attempt times out, the batch goes back to the stream
    chat.fail({ kind: 'hang' }, { kind: 'hang' }, { kind: 'hang' });
    const other = w.task('other.txt');
    const err = await handle(batchOf(other, 0, ['Gulls circle the fish market.'], spec({ auto_keywords: 2 })), w.ctx()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as { retryable?: boolean }).retryable).toBe(true);
    expect(await forwarded()).toHaveLength(0);
  });

  it('fails a task whose llm_id no backend serves, permanently', async () => {
    const task = w.task('port.txt');
    const { enricher } = enricherFor();
    const err = await handlerFor(() => enricher)(batchOf(task, 0, TEXTS, spec({ llm_id: 'gpt-unknown@OpenAI', auto_keywords: 2 })), w.ctx()).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/no chat backend serves llm_id "gpt-unknown@OpenAI"/);
    expect((err as { retryable?: boolean }).retryable).toBe(false);
    expect(chat.requests).toHaveLength(0);
  });

  it('drops a cancelled task: before the batch, and mid-batch between LLM calls, telling the indexer', async () => {
    const task = w.task('port.txt');
    const { enricher } = enricherFor();
    const handle = handlerFor(() => enricher);
    await cancelTask(w.redis, task.task_id);
    await handle(batchOf(task, 0, TEXTS, spec({ auto_keywords: 2 })), w.ctx());
    expect(chat.requests).toHaveLength(0);

    // a slow model: the cancel lands while the batch's first calls are answered
    const slow = await startChatFixture({ latencyMs: 300 });
    try {
      const registry = createChatRegistry({ defaultSpec: { baseUrl: slow.url, model: 'fixture-chat' }, maxConcurrentChats: 1 });
      const slowHandle = handlerFor(() => createEnricher({ registry, redis: w.redis, logger }));
      const other = w.task('other.txt');
      const long = TEXTS.concat(TEXTS.map((t) => `${t} Again.`), TEXTS.map((t) => `${t} Once more.`));
      const run = slowHandle(batchOf(other, 0, long, spec({ auto_keywords: 2 })), w.ctx());
      setTimeout(() => void cancelTask(w.redis, other.task_id), 450);
      await run;
      expect(slow.requests.length).toBeGreaterThan(0);
      expect(slow.requests.length).toBeLessThan(long.length);
      const notices = (await w.read(w.names.streams.index, w.names.consumers.indexer, IndexMessage)).map((m) => m.msg);
      expect(notices.map((n) => [n.kind, n.task.task_id])).toEqual([
        ['cancelled', task.task_id],
        ['cancelled', other.task_id],
      ]);
      expect(await forwarded()).toHaveLength(0);
    } finally {
      await slow.close();
    }
  });

  it('tags chunks from a tag knowledge base in the doc store (RAGFlow all_tags / tag_content, then the model)', async () => {
    const task = w.task('harbour.txt');
    // a tag knowledge base of the same tenant, as the parser's tag method writes it
    const tagRows = [
      ['Container cranes lift containers onto ships at the quay.', ['cargo']],
      ['Cranes and containers fill the container terminal.', ['cargo', 'terminal']],
      ['Tugboats and tankers share the port entrance.', ['vessels']],
    ] as const;
    const { vectors } = await hashingBackend.embed(tagRows.map(([t]) => t));
    const tagTask = w.task('tags.csv', { tenant_id: task.tenant_id });
    await w.docstore.upsert(
      task.tenant_id,
      chunksFor(tagTask, tagRows.map(([t]) => t)).map((c, i) => ({ ...c, tag_kwd: [...tagRows[i]![1]], q_1024_vec: Array.from(vectors[i]!) }) as never),
    );
    await w.docstore.refresh(task.tenant_id);
    // the second text shares no word with the tag rows (RAGFlow's query matches on any one clause)
    const batch = batchOf(task, 0, [TEXTS[0]!, 'Gulls circle fish markets.'], spec({ tag_kb_ids: [tagTask.kb_id], topn_tags: 2 }));
    // the doc store is the enricher's TagSource: what tag_content's search finds for each chunk
    const query = (c: (typeof batch.chunks)[number]) => ({ tokens: `${c.title_tks} ${c.content_ltks}`, keywords: c.important_kwd, keywordsTopn: 30 });
    expect(await w.docstore.allTagCounts(task.tenant_id, [tagTask.kb_id])).toEqual([['cargo', 2], ['terminal', 1], ['vessels', 1]]);
    expect((await w.docstore.matchingTagCounts(task.tenant_id, [tagTask.kb_id], query(batch.chunks[0]!)))[0]).toEqual(['cargo', 2]);
    expect(await w.docstore.matchingTagCounts(task.tenant_id, [tagTask.kb_id], query(batch.chunks[1]!))).toEqual([]);

    const registry = createChatRegistry({ defaultSpec: { baseUrl: chat.url, model: 'fixture-chat' } });
    const enricher = createEnricher({ registry, redis: w.redis, tagSource: w.docstore, logger });
    await handlerFor(() => enricher)(batch, w.ctx());
    const [out] = await forwarded();
    // a knowledge base this small scores every match 0 (RAGFlow's smoothing S = 1000), so the model
    // labels each chunk from the tag set, with the matched chunk's tags as its examples
    for (const c of out!.msg.chunks) {
      const tags = Object.keys(c.tag_feas as Record<string, number>);
      expect(tags.length).toBeGreaterThan(0);
      for (const t of tags) expect(['cargo', 'terminal', 'vessels']).toContain(t);
    }
    expect(chat.requests).toHaveLength(2);
  });

  it("builds RAGFlow's table of contents over every batch of the task, carried once by the batch that completes it", async () => {
    const task = w.task('manual.md');
    const { enricher } = enricherFor();
    const handle = handlerFor(() => enricher);
    const s = spec({ toc_extraction: true });
    // chunked as the parser does, over the whole task (positions run across batches), then split
    const all = chunksFor(task, ['Chapter 1 Loading\nCranes lift the boxes.', 'Tugs pull the ships.', 'Chapter 2 Customs\nBrokers read manifests.']);
    const part = (n: number, chunks: typeof all) => ChunkBatch.parse({ v: 1, kind: 'chunks', task: taskRef(task), batch_no: n, chunks, enrich: s, batches: 2 });
    const first = part(0, all.slice(0, 2));
    const second = part(1, all.slice(2));
    await handle(first, w.ctx());
    expect(chat.requests).toHaveLength(0);
    await handle(second, w.ctx());
    expect(chat.requests.length).toBeGreaterThan(0);
    // a redelivery of the first batch adds no second TOC chunk
    await handle(first, w.ctx({ deliveryCount: 2 }));
    const out = await forwarded();
    const tocs = out.flatMap((o) => o.msg.chunks.filter((c) => c.toc_kwd === 'toc').map((c) => ({ batch: o.msg.batch_no, c })));
    expect(tocs).toHaveLength(1);
    expect(tocs[0]!.batch).toBe(1);
    const toc = tocs[0]!.c;
    expect(toc).toMatchObject({ available_int: 0, page_num_int: [100000000], doc_id: task.doc_id });
    const items = JSON.parse(toc.content_with_weight) as { title: string; ids: string[] }[];
    expect(items.map((i) => i.title)).toEqual(['Chapter 1 Loading', 'Chapter 2 Customs']);
    expect(items[0]!.ids).toEqual([first.chunks[0]!.id, first.chunks[1]!.id, second.chunks[0]!.id]);
    const progress = (await events()).filter((e) => e.kind === 'progress' && e.stage === 'enricher').map((e) => (e.kind === 'progress' ? e.msg : ''));
    expect(progress.join('\n')).toContain('Table of contents added.');
  });

  it('carries the document metadata a batch yields to the indexer, which merges it where RAGFlow reads it', async () => {
    const task = w.task('port.txt');
    const { enricher } = enricherFor();
    const handle = handlerFor(() => enricher);
    const s = spec({ enable_metadata: true, metadata: [{ key: 'harbour', description: 'the harbour named', enum: [] }] });
    await handle(batchOf(task, 0, ['harbour: Rotterdam has cranes.', 'harbour: Hamburg has tugs.'], s), w.ctx());
    const [out] = await forwarded();
    // RAGFlow's update_metadata_to: a later chunk's string replaces an earlier one
    expect(out!.msg.doc_metadata).toEqual({ harbour: 'Hamburg' });
    const embed = createEmbedHandler({ backend: hashingBackend, publisher: w.publisher, names: w.names, isCancelled: w.isCancelled, logger, tracer });
    await embed(out!.msg, w.ctx());
    const [embedded] = await w.read(w.names.streams.index, w.names.consumers.indexer, EmbeddedBatch);
    expect(embedded!.msg.doc_metadata).toEqual({ harbour: 'Hamburg' });
    // what an earlier task of the document stored stays, merged as RAGFlow merges the existing entry in
    await w.docstore.mergeDocMetadata(task.tenant_id, task.kb_id, task.doc_id, { author: ['Ann'] });
    await indexerFor(w)(embedded!.msg, w.ctx());
    expect(await w.docstore.getDocMetadata(task.tenant_id, task.doc_id)).toEqual({ harbour: 'Hamburg', author: ['Ann'] });
  });
});
