import { randomUUID } from 'node:crypto';
import { tokenize } from '@ragline/rag-tokenizer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createEnricher,
  EnrichmentCancelledError,
  LlmCache,
  llmCacheKey,
  parseKeywords,
  UnknownChatModelError,
  type EnrichChunk,
  type TagCounts,
  type TagSource,
} from '../src/index.js';
import { startChatFixture, type ChatFixture } from '../src/testing/index.js';
import { registryFor, testRedis, uniqueModel } from './helpers.js';

const redis = testRedis();
let fx: ChatFixture;
beforeAll(async () => {
  fx = await startChatFixture();
});
afterAll(async () => {
  // every key these tests write is under a unique model name and expires (24 h, RAGFlow's TTL)
  redis.disconnect();
  await fx.close();
});

const task = { task_id: 'task-1', doc_id: 'doc-1', kb_id: 'kb-1', tenant_id: 'tenant-1' };
let n = 0;
function chunk(text: string, over: Partial<EnrichChunk> = {}): EnrichChunk {
  n++;
  return { id: n.toString(16).padStart(16, '0'), doc_id: 'doc-1', kb_id: 'kb-1', content_with_weight: text, title_tks: 'guide', content_ltks: tokenize(text), important_kwd: [], page_num_int: [1], top_int: [n], ...over };
}

describe('enrichBatch', () => {
  it('passes a batch that asks for nothing through untouched, without resolving a model', async () => {
    const enricher = createEnricher({ registry: registryFor(fx.url, 'm'), redis });
    const chunks = [chunk('alpha beta')];
    const r = await enricher.enrichBatch({ spec: { llm_id: 'nobody@Nowhere', language: 'English' }, task, chunks });
    expect(r.chunks).toBe(chunks);
    expect(r).toMatchObject({ llmCalls: 0, cacheHits: 0 });
  });

  it('fills important_kwd / important_tks and question_kwd / question_tks as RAGFlow parses the answers, with its progress messages', async () => {
    fx.reset();
    const model = uniqueModel();
    const enricher = createEnricher({ registry: registryFor(fx.url, model), redis });
    const chunks = [chunk('Ragline parses documents into chunks quickly'), chunk('检索增强生成把文档切成块')];
    const msgs: string[] = [];
    const r = await enricher.enrichBatch({
      spec: { llm_id: `${model}@OpenAI-API-Compatible`, language: 'English', auto_keywords: 3, auto_questions: 2 },
      task,
      chunks,
      onProgress: (m) => msgs.push(m),
    });
    expect(r.llmCalls).toBe(4);
    expect(r.cacheHits).toBe(0);
    const [a, b] = r.chunks;
    // the fixture answers "Ragline, parses, documents"; RAGFlow keeps the pieces as split (leading spaces too)
    expect(a!.important_kwd).toEqual(['Ragline', ' parses', ' documents']);
    expect(a!.important_tks).toBe(tokenize('Ragline  parses  documents'));
    expect(a!.question_kwd).toEqual(['What is Ragline?', 'What is parses?']);
    expect(a!.question_tks).toBe(tokenize('What is Ragline?\nWhat is parses?'));
    expect(b!.important_kwd).toEqual(['检索增强生成把文档切成块']);
    // the input chunks are not mutated
    expect(chunks[0]!.important_kwd).toEqual([]);
    expect(msgs[0]).toBe('Start to generate keywords for every chunk ...');
    expect(msgs[1]).toMatch(/^Keywords generation 2 chunks completed in \d+\.\d\ds$/);
    expect(msgs[2]).toBe('Start to generate questions for every chunk ...');
    expect(msgs[3]).toMatch(/^Question generation 2 chunks completed in \d+\.\d\ds$/);
    // the request carries RAGFlow's temperature for these prompts
    expect(fx.requests[0]!.params.temperature).toBe(0.2);
  });

  it('answers from the cache on a re-parse (no call), including an entry RAGFlow wrote under its key', async () => {
    fx.reset();
    const model = uniqueModel();
    const enricher = createEnricher({ registry: registryFor(fx.url, model), redis });
    const text = `a chunk RAGFlow saw first ${randomUUID()}`;
    // what RAGFlow's set_llm_cache stores: key of (llm_name, text, "keywords", {"topn": 3}), the raw answer
    await redis.set(llmCacheKey(model, text, 'keywords', { topn: 3 }), '甲，乙；丙、丁\n戊', 'EX', 60);
    const spec = { llm_id: `${model}@Factory`, language: 'Chinese', auto_keywords: 3 };
    const r = await enricher.enrichBatch({ spec, task, chunks: [chunk(text)] });
    expect(r).toMatchObject({ llmCalls: 0, cacheHits: 1 });
    expect(r.chunks[0]!.important_kwd).toEqual(['甲', '乙', '丙', '丁', '戊']);
    expect(fx.requests).toHaveLength(0);

    // a miss is answered once and then cached for the next parse
    const other = chunk(`fresh text ${randomUUID()}`);
    const first = await enricher.enrichBatch({ spec, task, chunks: [other] });
    const again = await enricher.enrichBatch({ spec, task, chunks: [other] });
    expect([first.llmCalls, again.llmCalls, again.cacheHits]).toEqual([1, 0, 1]);
    expect(again.chunks[0]!.important_kwd).toEqual(first.chunks[0]!.important_kwd);
    expect(await new LlmCache(redis).get(model, other.content_with_weight, 'keywords', { topn: 3 })).toBe('fresh, text, ' + other.content_with_weight.split(' ')[2]!.split('-')[0]);
  });

  it('never has more than MAX_CONCURRENT_CHATS calls in flight, across concurrent batches', async () => {
    const slow = await startChatFixture({ latencyMs: 60 });
    try {
      const model = uniqueModel();
      const registry = registryFor(slow.url, model, { maxConcurrentChats: 3 });
      const enricher = createEnricher({ registry, redis });
      const spec = { llm_id: model, language: 'English', auto_keywords: 2 };
      const batch = () => Array.from({ length: 6 }, () => chunk(`text ${randomUUID()}`));
      const results = await Promise.all([enricher.enrichBatch({ spec, task, chunks: batch() }), enricher.enrichBatch({ spec, task, chunks: batch() })]);
      expect(results.reduce((s, r) => s + r.llmCalls, 0)).toBe(12);
      expect(slow.maxConcurrent).toBe(3);
    } finally {
      await slow.close();
    }
  });

  it('checks cancel before each uncached call and stops with EnrichmentCancelledError', async () => {
    const slow = await startChatFixture({ latencyMs: 30 });
    try {
      const model = uniqueModel();
      const enricher = createEnricher({ registry: registryFor(slow.url, model, { maxConcurrentChats: 1 }), redis });
      let cancelled = false;
      const chunks = Array.from({ length: 8 }, () => chunk(`text ${randomUUID()}`));
      const p = enricher.enrichBatch({ spec: { llm_id: model, language: 'English', auto_keywords: 2 }, task, chunks, isCancelled: () => cancelled });
      setTimeout(() => (cancelled = true), 70);
      const err = await p.catch((e: unknown) => e);
      expect(err).toBeInstanceOf(EnrichmentCancelledError);
      expect(err).toMatchObject({ retryable: false, taskId: 'task-1' });
      expect(slow.requests.length).toBeGreaterThan(0);
      expect(slow.requests.length).toBeLessThan(8);
    } finally {
      await slow.close();
    }
  });

  it('fails a task whose llm_id no backend serves, permanently, naming it', async () => {
    const enricher = createEnricher({ registry: registryFor(fx.url, 'served-model'), redis });
    const err = await enricher.enrichBatch({ spec: { llm_id: 'qwen-max@Tongyi-Qianwen', language: 'English', auto_keywords: 3 }, task, chunks: [chunk('x')] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnknownChatModelError);
    expect(err).toMatchObject({ retryable: false, llmId: 'qwen-max@Tongyi-Qianwen' });
    expect((err as Error).message).toContain('"qwen-max@Tongyi-Qianwen"');
    expect((err as Error).message).toContain('served-model');
  });

  it('hands a failure back retryable once retries are spent, and skips the field for a chunk the server refuses (400)', async () => {
    const model = uniqueModel();
    const enricher = createEnricher({ registry: registryFor(fx.url, model, {}, { maxRetries: 1 }), redis });
    const spec = { llm_id: model, language: 'English', auto_keywords: 3 };
    fx.reset();
    fx.fail({ kind: 'status', status: 503 }, { kind: 'status', status: 503 });
    const err = await enricher.enrichBatch({ spec, task, chunks: [chunk(`a ${randomUUID()}`)] }).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'ChatError', retryable: true, status: 503 });

    fx.reset();
    fx.fail({ kind: 'status', status: 400, body: '{"error":{"message":"content filtered"}}' });
    const r = await enricher.enrichBatch({ spec, task, chunks: [chunk(`b ${randomUUID()}`)] });
    expect(r.chunks[0]!.important_kwd).toEqual([]);
    expect(r.chunks[0]!.important_tks).toBeUndefined();
  });

  it('drops error answers and reasoning as RAGFlow does', async () => {
    const odd = await startChatFixture({ answer: (req) => (req.messages[1]!.content.startsWith('err') ? '**ERROR**: upstream gave up' : '<think>hmm, keywords</think>red, green') });
    try {
      const model = uniqueModel();
      const enricher = createEnricher({ registry: registryFor(odd.url, model), redis });
      const r = await enricher.enrichBatch({ spec: { llm_id: model, language: 'English', auto_keywords: 2 }, task, chunks: [chunk(`err ${randomUUID()}`), chunk(`ok ${randomUUID()}`)] });
      expect(r.chunks[0]!.important_kwd).toEqual([]);
      expect(r.chunks[1]!.important_kwd).toEqual(['red', ' green']);
    } finally {
      await odd.close();
    }
  });

  it('merges per-chunk metadata with update_metadata_to and caches under the metadata configuration', async () => {
    fx.reset();
    const model = uniqueModel();
    const enricher = createEnricher({ registry: registryFor(fx.url, model), redis });
    const metadata = [
      { key: 'author', description: 'who wrote it' },
      { key: 'year', description: 'publication year', enum: [] },
    ];
    const chunks = [chunk(`author: Alice year: 2024 ${randomUUID()}`), chunk(`author: Bob ${randomUUID()}`), chunk(`nothing here ${randomUUID()}`)];
    const msgs: string[] = [];
    const spec = { llm_id: model, language: 'English', enable_metadata: true, metadata };
    const r = await enricher.enrichBatch({ spec, task, chunks, onProgress: (m) => msgs.push(m) });
    // strings of later chunks replace earlier ones (RAGFlow's update_metadata_to)
    expect(r.metadata).toEqual({ author: 'Bob', year: '2024' });
    expect(r.llmCalls).toBe(3);
    expect(msgs[0]).toBe('Start to generate meta-data for every chunk ...');
    expect(msgs[1]).toMatch(/^Metadata generation 3 chunks completed in/);
    // the prompt's schema leaves out the empty enum; the cache key uses the configuration as given
    expect(fx.requests[0]!.messages[0]!.content).toContain('"publication year"');
    expect(fx.requests[0]!.messages[0]!.content).not.toContain('"enum": []');
    expect(await new LlmCache(redis).get(model, chunks[1]!.content_with_weight, 'metadata', metadata)).toBe('{"author":"Bob"}');
    // metadata is the document's, not a chunk field
    expect(Object.keys(r.chunks[0]!)).toEqual(Object.keys(chunks[0]!));
  });
});

/** An in-memory tag knowledge base: chunks with tag_kwd, matched by shared tokens (the doc store's full-text search). */
class MemoryTagSource implements TagSource {
  calls = 0;
  /** `n` chunks alike of each row */
  constructor(private readonly rows: Array<{ tokens: string[]; tags: string[]; n: number }>) {}
  private count(rows: Array<{ tags: string[]; n: number }>): TagCounts {
    const m = new Map<string, number>();
    for (const r of rows) for (const t of r.tags) m.set(t, (m.get(t) ?? 0) + r.n);
    return [...m.entries()].sort((a, b) => b[1] - a[1]);
  }
  async allTagCounts(): Promise<TagCounts> {
    this.calls++;
    return this.count(this.rows);
  }
  async matchingTagCounts(_t: string, _k: string[], q: { tokens: string }): Promise<TagCounts> {
    const words = new Set(q.tokens.split(/\s+/).filter(Boolean));
    return this.count(this.rows.filter((r) => r.tokens.some((t) => words.has(t))));
  }
}

describe('tagging', () => {
  it('tags from the tag knowledge bases where their chunks match, else with the model; tag set cached', async () => {
    fx.reset();
    const model = uniqueModel();
    const rows = [
      { tokens: ['tax', 'invoice'], tags: ['finance'], n: 20000 },
      { tokens: ['kernel'], tags: ['linux.os'], n: 50 },
      { tokens: ['recipe'], tags: ['cooking'], n: 1 },
    ];
    const source = new MemoryTagSource(rows);
    const enricher = createEnricher({ registry: registryFor(fx.url, model), redis, tagSource: source, random: () => 0 });
    const kb = uniqueModel('tagkb');
    const spec = { llm_id: model, language: 'English', tag_kb_ids: [kb], topn_tags: 2 };
    const chunks = [chunk(`the kernel boots ${randomUUID()}`), chunk(`a cooking story about finance ${randomUUID()}`)];
    const msgs: string[] = [];
    const r = await enricher.enrichBatch({ spec, task, chunks, onProgress: (m) => msgs.push(m) });
    // doc-store route, RAGFlow's scoring with "." as "_": share (50+1)/(20051+1000), score
    // round(0.1 * 51 / (50 + 1000) / share) = round(2.005) = 2
    expect(r.chunks[0]!.tag_feas).toEqual({ linux_os: 2 });
    // model route: the fixture picks tags of the set that occur in the text
    expect(r.chunks[1]!.tag_feas).toEqual({ finance: 10, cooking: 9 });
    expect(r.llmCalls).toBe(1);
    // the example given to the model is the chunk the doc store tagged
    expect(fx.requests[0]!.messages[0]!.content).toContain('the kernel boots');
    expect(msgs[0]).toBe('Start to tag for every chunk ...');
    expect(msgs[1]).toMatch(/^Tagging 2 chunks completed in/);
    const again = await enricher.enrichBatch({ spec, task, chunks });
    expect(again.cacheHits).toBe(1);
    expect(again.chunks[1]!.tag_feas).toEqual({ finance: 10, cooking: 9 });
    expect(source.calls).toBe(1);
    await redis.del((await import('../src/index.js')).tagsCacheKey([kb]));
  });
});

describe('buildToc', () => {
  it("makes RAGFlow's TOC chunk from the headings and levels the model finds", async () => {
    fx.reset();
    const model = uniqueModel();
    const enricher = createEnricher({ registry: registryFor(fx.url, model), redis });
    const texts = ['Chapter 1 Basics\nintro text', 'more body text', 'Section 1.1 Details\ndetail', 'Chapter 2 Usage\nuse it', 'closing words'];
    const chunks = texts.map((t, i) => chunk(`${t}`, { page_num_int: [1 + Math.floor(i / 2)], top_int: [i * 10] }));
    // handed over out of order: build_TOC sorts by page, then top
    const { chunk: toc, llmCalls } = await enricher.buildToc({ spec: { llm_id: model }, task, chunks: [...chunks].reverse() });
    expect(llmCalls).toBe(2);
    expect(toc).toBeDefined();
    const entries = JSON.parse(toc!.content_with_weight) as Array<{ level: string; title: string; ids: string[] }>;
    expect(entries).toEqual([
      { level: '1', title: 'Chapter 1 Basics', ids: [chunks[0]!.id, chunks[1]!.id, chunks[2]!.id] },
      { level: '2', title: 'Section 1.1 Details', ids: [chunks[2]!.id, chunks[3]!.id] },
      { level: '1', title: 'Chapter 2 Usage', ids: [chunks[3]!.id] },
    ]);
    // Python's json.dumps separators
    expect(toc!.content_with_weight).toContain('{"level": "1", "title": "Chapter 1 Basics", "ids": [');
    expect(toc).toMatchObject({ toc_kwd: 'toc', available_int: 0, page_num_int: [100000000], doc_id: 'doc-1', top_int: chunks[4]!.top_int });
    const { xxh64Hex } = await import('../src/index.js');
    expect(toc!.id).toBe(xxh64Hex(toc!.content_with_weight + 'doc-1'));
    expect(parseKeywords('a')).toEqual(['a']);
  });
});
