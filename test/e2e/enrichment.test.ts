import type { DocStore, StoredChunk } from '@ragline/docstore';
import { startChatFixture, type ChatFixture } from '@ragline/enrichment/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEnvironment, type Environment } from '../support/pipeline.js';

const TEXT = [
  'Quayside gantries hoist containers from the freighters at dawn.',
  'Harbour pilots steer tankers through the narrow channel.',
  'Customs brokers inspect manifests before cargo leaves the terminal.',
  'Dockworkers lash stacked boxes against the winter gales.',
].join('\n');

describe('enrichment end to end: a knowledge base with auto_keywords and auto_questions (six processes, a chat server)', () => {
  let env: Environment;
  let chat: ChatFixture;
  let docstore: DocStore | undefined;

  beforeAll(async () => {
    chat = await startChatFixture();
    env = await createEnvironment({ CHAT_BASE_URL: chat.url, CHAT_MODEL: 'fixture-chat', PARSER_BATCH_CHUNKS: '2' });
    env.startAll();
  });

  afterAll(async () => {
    await docstore?.close();
    await env?.cleanup();
    await chat?.close();
  });

  it('indexes chunks whose important_kwd and question_kwd the chat model wrote, searchable by them', async () => {
    const { doc, tasks, tenantId, kb } = await env.addDocument('harbour.txt', TEXT, {
      kb: 'enriched',
      parserConfig: { chunk_token_num: 16, delimiter: '\n', auto_keywords: 2, auto_questions: 1 },
    });
    await env.producer.enqueue(env.queues[1]!, { ...tasks[0]! });
    const task = await env.waitFor('enriched task done', async () => {
      const t = await env.taskdb.getTask(tasks[0]!.id);
      if (t && t.progress < 0) throw new Error(`task failed: ${t.progress_msg}`);
      return t && t.progress >= 1 ? t : undefined;
    });
    expect(task.progress_msg).toMatch(/Start to enrich chunks with the default chat model: keywords \(2\), questions \(1\)\./);
    expect(task.progress_msg).toMatch(/Enrichment of \d+ chunks done \(keywords \(2\), questions \(1\)\): \d+ LLM calls/);

    const ids = task.chunk_ids.split(' ').filter(Boolean);
    expect(ids.length).toBeGreaterThan(1);
    // one keywords and one questions call per chunk
    expect(chat.requests.length).toBe(ids.length * 2);
    docstore = env.docstore();
    const stored = (await docstore.get(tenantId, ids)) as StoredChunk[];
    for (const c of stored) {
      expect(c.doc_id).toBe(doc.id);
      expect((c.important_kwd ?? []).length).toBe(2);
      const questions = c.question_kwd as string[];
      expect(questions).toHaveLength(1);
      expect(questions[0]).toMatch(/^What is \w+\?$/);
    }
    // the fixture's questions are "What is <first word>?": each chunk is the best hit for its own question
    for (const c of stored) {
      const question = (c.question_kwd as string[])[0]!;
      const hits = await docstore.search({ tenantId, kbIds: [kb.id], query: question, mode: 'fulltext' });
      expect(hits[0]!.id, question).toBe(c.id);
      const byKeyword = await docstore.search({ tenantId, kbIds: [kb.id], query: c.important_kwd[1]!.trim(), mode: 'fulltext' });
      expect(byKeyword.map((h) => h.id)).toContain(c.id);
    }
  });

  it('re-parsing the document costs no chat calls (RAGFlow-keyed LLM cache in Redis)', async () => {
    const before = chat.requests.length;
    const { tasks } = await env.addDocument('harbour-copy.txt', TEXT, {
      kb: 'enriched',
      parserConfig: { chunk_token_num: 16, delimiter: '\n', auto_keywords: 2, auto_questions: 1 },
    });
    await env.producer.enqueue(env.queues[1]!, { ...tasks[0]! });
    await env.waitFor('second task done', async () => {
      const t = await env.taskdb.getTask(tasks[0]!.id);
      if (t && t.progress < 0) throw new Error(`task failed: ${t.progress_msg}`);
      return t && t.progress >= 1 ? t : undefined;
    });
    expect(chat.requests.length).toBe(before);
  });
});
