import { createRequire } from 'node:module';
import type { MockPattern } from '@elastic/elasticsearch-mock';
import { Client, errors } from '@elastic/elasticsearch';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { chunkRankTokens, createElasticDocStore, FULLTEXT_FIELDS, hybridScores, paragraphQuery, ragflowIndexBody, ragflowQuery, type ElasticDocStoreOptions } from '../src/index.js';
import reference from '../src/ragflow-es-mapping.json' with { type: 'json' };
import { makeChunk } from './conformance.js';

// a CommonJS module whose typings declare an ES default export: load it the CommonJS way
const Mock = createRequire(import.meta.url)('@elastic/elasticsearch-mock') as typeof import('@elastic/elasticsearch-mock').default;

type Req = { method: string; path: string; body: unknown; querystring: Record<string, string> };
type Resolver = (req: Req) => unknown;

/**
 * Every request the adapter sends goes through the official client onto elasticsearch-mock's
 * connection; `on` scripts responses per method and path, `sent` keeps the requests in order.
 */
function harness(opts: Partial<ElasticDocStoreOptions> = {}) {
  const mock = new Mock();
  const sent: Req[] = [];
  const routes = new Map<string, Resolver[]>();
  const fallback = new Map<string, Resolver>();
  for (const method of ['GET', 'POST', 'PUT', 'DELETE', 'HEAD']) {
    mock.add({ method, path: '*' }, (p: MockPattern) => {
      const req = { method: p.method, path: p.path, body: p.body, querystring: p.querystring ?? {} } as Req;
      sent.push(req);
      const key = `${req.method} ${req.path}`;
      const queue = routes.get(key);
      const fn = queue?.length ? queue.shift()! : fallback.get(key);
      if (!fn) return new errors.ResponseError({ body: { error: { type: 'no_route', reason: key } }, statusCode: 500, headers: {}, warnings: null, meta: {} as never });
      return fn(req) as Record<string, unknown>;
    });
  }
  // the mock's typings use the client's CommonJS build, the test the ESM one: same class at run time
  const client = new Client({ node: 'http://es.test:9200', Connection: mock.getConnection() as unknown as NonNullable<ConstructorParameters<typeof Client>[0]['Connection']>, maxRetries: 0 });
  const store = createElasticDocStore({ client, retryDelayMs: 1, retryMaxDelayMs: 2, ...opts });
  // tenant t1's index and vector mappings are accepted unless a test scripts otherwise
  fallback.set('PUT /ragflow_t1', () => ({ acknowledged: true, index: 'ragflow_t1' }));
  fallback.set('PUT /ragflow_t1/_mapping', () => ({ acknowledged: true }));
  return {
    store,
    sent,
    /** answer the next matching request with fn (one use) */
    once(method: string, path: string, fn: Resolver) {
      const q = routes.get(`${method} ${path}`) ?? [];
      q.push(fn);
      routes.set(`${method} ${path}`, q);
    },
    /** answer every matching request with fn once the one-use answers are spent */
    always(method: string, path: string, fn: Resolver) {
      fallback.set(`${method} ${path}`, fn);
    },
    requests(method: string, path: string) {
      return sent.filter((r) => r.method === method && r.path === path);
    },
  };
}

const esError = (statusCode: number, type: string, reason = type) =>
  new errors.ResponseError({ body: { error: { type, reason }, status: statusCode }, statusCode, headers: {}, warnings: null, meta: {} as never });

const unit = (dim: number, axis: number) => Array.from({ length: dim }, (_, i) => (i === axis ? 1 : 0));
const chunk = (content: string, dim = 8, axis = 0) => makeChunk({ kb_id: 'kb1', doc_id: 'd1', content_with_weight: content }, unit(dim, axis));

function bulkOk(req: Req) {
  const lines = req.body as Record<string, { _id: string }>[];
  const items = lines.filter((_, i) => i % 2 === 0).map((l) => ({ index: { _id: l.index!._id, status: 201, result: 'created' } }));
  return { took: 1, errors: false, items };
}

describe('elasticsearch adapter requests (official client on elasticsearch-mock)', () => {
  let h: ReturnType<typeof harness>;
  beforeEach(() => {
    h = harness();
  });
  afterEach(async () => {
    await h.store.close();
  });

  it('creates ragflow_<tenant> with RAGFlow settings and mapping, and maps a 384-dim vector explicitly', async () => {
    await h.store.ensureIndex('t1', 384);
    await h.store.ensureIndex('t1', 384);
    await h.store.ensureIndex('t1', 1024);
    const creates = h.requests('PUT', '/ragflow_t1');
    expect(creates).toHaveLength(1);
    expect(creates[0]!.body).toEqual({ settings: reference.settings, mappings: reference.mappings });
    expect(ragflowIndexBody()).toEqual(reference);
    const maps = h.requests('PUT', '/ragflow_t1/_mapping');
    // 1024 has a template in RAGFlow's mapping; 384 does not
    expect(maps.map((m) => m.body)).toEqual([{ properties: { q_384_vec: { type: 'dense_vector', dims: 384, index: true, similarity: 'cosine' } } }]);
  });

  it('treats an index created meanwhile by another replica as created', async () => {
    const other = harness();
    other.once('PUT', '/ragflow_t2', () => esError(400, 'resource_already_exists_exception', 'index [ragflow_t2] already exists'));
    await other.store.ensureIndex('t2', 768);
    expect(other.sent.map((r) => `${r.method} ${r.path}`)).toEqual(['PUT /ragflow_t2']);
    await other.store.close();
  });

  it('sends bulk index actions with _index and _id, documents without _id but with kb_id', async () => {
    h.always('POST', '/_bulk', bulkOk);
    const a = { ...chunk('first'), _id: 'must-not-pass' } as ReturnType<typeof chunk>;
    const b = chunk('second', 8, 1);
    expect(await h.store.upsert('t1', [a, b])).toEqual({ written: 2, errors: [] });
    const [bulk] = h.requests('POST', '/_bulk');
    expect(bulk!.querystring).toMatchObject({ refresh: 'false', timeout: '60s' });
    const lines = bulk!.body as Record<string, unknown>[];
    expect(lines).toHaveLength(4);
    expect(lines[0]).toEqual({ index: { _index: 'ragflow_t1', _id: a.id } });
    const { _id: _drop, ...aSource } = a as Record<string, unknown>;
    expect(lines[1]).toEqual(aSource);
    expect(lines[1]).not.toHaveProperty('_id');
    expect(lines[1]).toMatchObject({ id: a.id, kb_id: 'kb1', q_8_vec: unit(8, 0) });
    expect(lines[2]).toEqual({ index: { _index: 'ragflow_t1', _id: b.id } });
    // the index was created before the first bulk, so no document is indexed with dynamic defaults
    expect(h.sent.findIndex((r) => r.path === '/ragflow_t1')).toBeLessThan(h.sent.findIndex((r) => r.path === '/_bulk'));
  });

  it("writes parent records as RAGFlow's mothers: RAGFlow's fields only, no vector, index created without a vector mapping", async () => {
    h.always('POST', '/_bulk', bulkOk);
    const parent = {
      id: 'aaaaaaaaaaaaaaaa',
      content_with_weight: 'one. two.',
      doc_id: 'd1',
      docnm_kwd: 'manual.pdf',
      kb_id: 'kb1',
      available_int: 0 as const,
      position_int: [[1, 10, 200, 30, 60]],
      create_timestamp_flt: 1_760_000_000.25,
      page_num_int: [1],
      top_int: [30],
    };
    const again = { ...parent, content_with_weight: 'one. two!' };
    expect(await h.store.upsertParents('t1', [parent, again])).toEqual({ written: 1, errors: [] });
    expect(h.sent.map((r) => `${r.method} ${r.path}`)).toEqual(['PUT /ragflow_t1', 'POST /_bulk']);
    const lines = h.requests('POST', '/_bulk')[0]!.body as Record<string, unknown>[];
    // last write of an id wins within a call
    expect(lines).toEqual([{ index: { _index: 'ragflow_t1', _id: parent.id } }, again]);
    // a later vector batch of another dimension still maps its field
    h.always('POST', '/_bulk', bulkOk);
    await h.store.upsert('t1', [chunk('child', 384)]);
    expect(h.requests('PUT', '/ragflow_t1')).toHaveLength(1);
    expect(h.requests('PUT', '/ragflow_t1/_mapping')).toHaveLength(1);
    // one carrying a vector is refused, not written
    const bad = await h.store.upsertParents('t1', [{ ...parent, id: 'bbbbbbbbbbbbbbbb', q_8_vec: unit(8, 0) } as unknown as typeof parent]);
    expect(bad).toMatchObject({ written: 0, errors: [{ id: 'bbbbbbbbbbbbbbbb', retryable: false }] });
    expect(h.requests('POST', '/_bulk')).toHaveLength(2);
  });

  it('reports a parent bulk refused by the cluster per item', async () => {
    h.once('POST', '/_bulk', () => ({ took: 1, errors: true, items: [{ index: { _id: 'aaaaaaaaaaaaaaaa', status: 400, error: { type: 'mapper_parsing_exception', reason: 'bad field' } } }] }));
    const r = await h.store.upsertParents('t1', [
      { id: 'aaaaaaaaaaaaaaaa', content_with_weight: 'x', doc_id: 'd1', docnm_kwd: 'a', kb_id: 'kb1', available_int: 0, position_int: [], create_timestamp_flt: 1, page_num_int: [], top_int: [] },
    ]);
    expect(r).toEqual({ written: 0, errors: [{ id: 'aaaaaaaaaaaaaaaa', reason: '400 mapper_parsing_exception: bad field', retryable: false }] });
  });

  it('splits bulks by document count and by bytes', async () => {
    h.always('POST', '/_bulk', bulkOk);
    const counted = harness({ bulkSize: 2 });
    counted.always('POST', '/_bulk', bulkOk);
    const docs = [0, 1, 2, 3, 4].map((i) => chunk(`doc ${i}`, 8, i));
    expect((await counted.store.upsert('t1', docs)).written).toBe(5);
    expect(counted.requests('POST', '/_bulk').map((r) => (r.body as unknown[]).length / 2)).toEqual([2, 2, 1]);
    await counted.store.close();

    const sized = harness({ bulkMaxBytes: 1500 });
    sized.always('POST', '/_bulk', bulkOk);
    const long = [0, 1, 2].map((i) => chunk(`${'x'.repeat(300)} ${i}`, 8, i));
    expect((await sized.store.upsert('t1', long)).written).toBe(3);
    const perRequest = sized.requests('POST', '/_bulk').map((r) => (r.body as unknown[]).length / 2);
    expect(perRequest.length).toBeGreaterThan(1);
    expect(perRequest.reduce((x, y) => x + y, 0)).toBe(3);
    await sized.store.close();
  });

  it('retries a bulk answered 429 and then succeeds', async () => {
    h.once('POST', '/_bulk', () => esError(429, 'es_rejected_execution_exception', 'rejected execution of coordinating operation'));
    h.once('POST', '/_bulk', () => esError(503, 'unavailable_shards_exception'));
    h.always('POST', '/_bulk', bulkOk);
    expect(await h.store.upsert('t1', [chunk('one'), chunk('two', 8, 1)])).toEqual({ written: 2, errors: [] });
    expect(h.requests('POST', '/_bulk')).toHaveLength(3);
  });

  it('retries after a lost connection', async () => {
    h.once('POST', '/_bulk', () => new errors.ConnectionError('socket hang up'));
    h.always('POST', '/_bulk', bulkOk);
    expect((await h.store.upsert('t1', [chunk('one')])).written).toBe(1);
    expect(h.requests('POST', '/_bulk')).toHaveLength(2);
  });

  it('reads per-item failures: retries the 429 item alone, reports the 400 item with its reason', async () => {
    const [ok, bad, busy] = [chunk('ok'), chunk('bad', 8, 1), chunk('busy', 8, 2)];
    h.once('POST', '/_bulk', () => ({
      took: 3,
      errors: true,
      items: [
        { index: { _id: ok.id, status: 201, result: 'created' } },
        { index: { _id: bad.id, status: 400, error: { type: 'mapper_parsing_exception', reason: 'failed to parse field [create_time]' } } },
        { index: { _id: busy.id, status: 429, error: { type: 'es_rejected_execution_exception', reason: 'queue full' } } },
      ],
    }));
    h.always('POST', '/_bulk', bulkOk);
    const res = await h.store.upsert('t1', [ok, bad, busy]);
    expect(res.written).toBe(2);
    expect(res.errors).toEqual([{ id: bad.id, reason: '400 mapper_parsing_exception: failed to parse field [create_time]', retryable: false }]);
    const retried = h.requests('POST', '/_bulk')[1]!.body as Record<string, { _id: string }>[];
    expect(retried.map((l, i) => (i % 2 === 0 ? l.index!._id : null)).filter(Boolean)).toEqual([busy.id]);
  });

  it('reports items still refused after every attempt as retryable', async () => {
    const s = harness({ maxAttempts: 3 });
    s.always('POST', '/_bulk', () => esError(429, 'es_rejected_execution_exception'));
    const c = chunk('x');
    const res = await s.store.upsert('t1', [c]);
    expect(res).toEqual({ written: 0, errors: [{ id: c.id, reason: expect.stringContaining('after 3 attempts') as string, retryable: true }] });
    expect(s.requests('POST', '/_bulk')).toHaveLength(3);
    await s.store.close();
  });

  it('does not retry a request the cluster rejects as bad', async () => {
    h.once('POST', '/_bulk', () => esError(413, 'content_too_long'));
    const c = chunk('x');
    expect((await h.store.upsert('t1', [c])).errors).toEqual([{ id: c.id, reason: expect.stringContaining('413') as string, retryable: false }]);
    expect(h.requests('POST', '/_bulk')).toHaveLength(1);
  });

  it('deletes a document by query on kb_id and doc_id, with refresh', async () => {
    h.once('POST', '/ragflow_t1/_delete_by_query', () => ({ deleted: 7, failures: [] }));
    expect(await h.store.deleteByDoc('t1', 'kb1', 'd1')).toBe(7);
    const [del] = h.requests('POST', '/ragflow_t1/_delete_by_query');
    expect(del!.querystring).toMatchObject({ refresh: 'true', conflicts: 'proceed' });
    expect(del!.body).toEqual({ query: { bool: { filter: [{ term: { kb_id: 'kb1' } }, { term: { doc_id: 'd1' } }] } } });
  });

  it('deletes by ids inside the kb, and counts a missing index as empty', async () => {
    h.once('POST', '/ragflow_t1/_delete_by_query', () => ({ deleted: 1 }));
    expect(await h.store.deleteByIds('t1', 'kb1', ['aaaaaaaaaaaaaaaa', 'aaaaaaaaaaaaaaaa'])).toBe(1);
    expect(h.requests('POST', '/ragflow_t1/_delete_by_query')[0]!.body).toEqual({
      query: { bool: { filter: [{ term: { kb_id: 'kb1' } }, { ids: { values: ['aaaaaaaaaaaaaaaa'] } }] } },
    });
    h.once('POST', '/ragflow_t9/_delete_by_query', () => esError(404, 'index_not_found_exception'));
    expect(await h.store.deleteByDoc('t9', 'kb1', 'd1')).toBe(0);
    h.once('POST', '/ragflow_t9/_count', () => esError(404, 'index_not_found_exception'));
    expect(await h.store.count('t9')).toBe(0);
  });

  it('refreshes the tenant index', async () => {
    h.once('GET', '/ragflow_t1/_refresh', () => ({ _shards: { total: 2, successful: 2, failed: 0 } }));
    await h.store.refresh('t1');
    expect(h.requests('GET', '/ragflow_t1/_refresh')).toHaveLength(1);
  });

  it('fails a refresh that keeps hitting 503 with a retryable error', async () => {
    h.always('GET', '/ragflow_t1/_refresh', () => esError(503, 'unavailable'));
    await expect(h.store.refresh('t1')).rejects.toMatchObject({ name: 'DocStoreError', retryable: true });
    expect(h.requests('GET', '/ragflow_t1/_refresh')).toHaveLength(5);
  });

  it('sends RAGFlow-shaped full-text, kNN and hybrid search bodies', async () => {
    const src = (id: string, v: number[], content_ltks = '') => ({ id, doc_id: 'd1', kb_id: 'kb1', docnm_kwd: 'a.pdf', content_with_weight: `text ${id}`, page_num_int: [2], q_8_vec: v, content_ltks });
    const filter = [{ bool: { must_not: [{ range: { available_int: { lt: 1 } } }] } }, { terms: { kb_id: ['kb1'] } }, { terms: { doc_id: ['d1'] } }];
    // RAGFlow's weighted query for the text (its construction is tested against RAGFlow in @ragline/rag-tokenizer)
    const rq = ragflowQuery('Refund (policy)')!;
    expect(rq.queryString).toContain('refund');
    const text = { query_string: { fields: FULLTEXT_FIELDS, type: 'best_fields', query: rq.queryString, minimum_should_match: '30%', boost: 1 } };

    h.once('POST', '/ragflow_t1/_search', () => ({
      hits: { hits: [{ _id: 'a', _score: 4, _source: src('a', []) }, { _id: 'b', _score: 2, _source: src('b', []) }] },
    }));
    const ft = await h.store.search({ tenantId: 't1', kbIds: ['kb1'], docIds: ['d1'], query: 'Refund (policy)', mode: 'fulltext', topK: 5 });
    expect(ft.map((x) => [x.id, x.score, x.text_score, x.vector_score])).toEqual([
      ['a', 1, 1, 0],
      ['b', 0.5, 0.5, 0],
    ]);
    expect(ft[0]).toMatchObject({ docnm_kwd: 'a.pdf', content_with_weight: 'text a', page_num_int: [2] });
    const ftReq = h.requests('POST', '/ragflow_t1/_search')[0]!;
    expect(ftReq.querystring).toMatchObject({ search_type: 'dfs_query_then_fetch' });
    expect(ftReq.body).toEqual({ query: { bool: { filter, must: [text] } }, size: 5, _source: ['id', 'doc_id', 'kb_id', 'docnm_kwd', 'content_with_weight', 'page_num_int'] });

    const q = unit(8, 0);
    h.always('GET', '/ragflow_t1/_mapping/field/q_8_vec', () => ({ ragflow_t1: { mappings: { q_8_vec: { full_name: 'q_8_vec', mapping: {} } } } }));
    h.once('POST', '/ragflow_t1/_search', () => ({ hits: { hits: [{ _id: 'a', _score: 0.9, _source: src('a', []) }] } }));
    const vec = await h.store.search({ tenantId: 't1', kbIds: ['kb1'], docIds: ['d1'], vector: q, mode: 'vector', topK: 2 });
    expect(vec[0]!.vector_score).toBeCloseTo(0.8, 10);
    expect(h.requests('POST', '/ragflow_t1/_search')[1]!.body).toEqual({
      knn: { field: 'q_8_vec', query_vector: q, k: 2, num_candidates: 100, filter: { bool: { filter } } },
      size: 2,
      _source: ['id', 'doc_id', 'kb_id', 'docnm_kwd', 'content_with_weight', 'page_num_int'],
    });

    // hybrid: candidates from RAGFlow's combined request, scored as RAGFlow's rerank
    h.once('POST', '/ragflow_t1/_search', () => ({
      hits: { hits: [{ _id: 'a', _score: 3, _source: src('a', unit(8, 1), 'refund polici') }, { _id: 'b', _score: 2, _source: src('b', q, 'polici') }] },
    }));
    const hy = await h.store.search({ tenantId: 't1', kbIds: ['kb1'], docIds: ['d1'], query: 'Refund (policy)', vector: q, mode: 'hybrid', topK: 2, vectorSimilarityWeight: 0.6 });
    const want = (content: string, cos: number) => hybridScores(rq, [chunkRankTokens({ content_ltks: content })], [cos], 0.6)[0]!;
    expect(want('refund polici', 0).text).toBeGreaterThan(want('polici', 1).text);
    expect(hy.map((x) => x.id)).toEqual(['b', 'a']);
    expect(hy[0]!.score).toBeCloseTo(want('polici', 1).score, 10);
    expect(hy[1]!.score).toBeCloseTo(want('refund polici', 0).score, 10);
    expect(hy[1]!.text_score).toBeCloseTo(want('refund polici', 0).text, 10);
    const [, , cand] = h.requests('POST', '/ragflow_t1/_search');
    expect(cand!.body).toEqual({
      query: { bool: { filter, must: [text], boost: 0.4 } },
      knn: { field: 'q_8_vec', query_vector: q, k: 6, num_candidates: 100, filter: { bool: { filter } } },
      size: 12,
      _source: ['id', 'doc_id', 'kb_id', 'docnm_kwd', 'content_with_weight', 'page_num_int', 'content_ltks', 'title_tks', 'important_kwd', 'question_tks', 'q_8_vec'],
    });
    expect(h.requests('POST', '/ragflow_t1/_search')).toHaveLength(3);
  });

  it('finds nothing for a vector whose field the index never mapped', async () => {
    h.once('GET', '/ragflow_t1/_mapping/field/q_16_vec', () => ({ ragflow_t1: { mappings: {} } }));
    expect(await h.store.search({ tenantId: 't1', vector: unit(16, 0), mode: 'vector' })).toEqual([]);
    expect(h.requests('POST', '/ragflow_t1/_search')).toHaveLength(0);
  });

  it('asks again with minimum_should_match 10% when a Chinese query found nothing, as RAGFlow', async () => {
    h.once('POST', '/ragflow_t1/_search', () => ({ hits: { hits: [] } }));
    h.once('POST', '/ragflow_t1/_search', () => ({ hits: { hits: [] } }));
    expect(await h.store.search({ tenantId: 't1', query: '消费者组的确认', mode: 'fulltext' })).toEqual([]);
    const [first, second] = h.requests('POST', '/ragflow_t1/_search');
    const mm = (r: typeof first) => (r!.body as { query: { bool: { must: [{ query_string: { minimum_should_match: string } }] } } }).query.bool.must[0].query_string.minimum_should_match;
    expect([mm(first), mm(second)]).toEqual(['30%', '10%']);
  });
});

describe('elasticsearch tag source and document metadata (RAGFlow all_tags / tag_content, DocMetadataService)', () => {
  let h: ReturnType<typeof harness>;
  beforeEach(() => {
    h = harness();
  });

  it("aggregates tag_kwd over the tag knowledge bases as RAGFlow's get_aggregation reads it", async () => {
    h.once('POST', '/ragflow_t1/_search', () => ({
      hits: { hits: [] },
      aggregations: { aggs_tag_kwd: { buckets: [{ key: 'finance', doc_count: 7 }, { key: 'hr', doc_count: 2 }] } },
    }));
    expect(await h.store.allTagCounts('t1', ['tagkb1', 'tagkb2'])).toEqual([
      ['finance', 7],
      ['hr', 2],
    ]);
    const [req] = h.requests('POST', '/ragflow_t1/_search');
    expect(req!.body).toEqual({
      size: 0,
      query: { bool: { filter: [{ terms: { kb_id: ['tagkb1', 'tagkb2'] } }], must: [] } },
      aggs: { aggs_tag_kwd: { terms: { field: 'tag_kwd', size: 1_000_000 } } },
    });
    expect(await h.store.allTagCounts('t1', [])).toEqual([]);
  });

  it("matches a chunk's paragraph query with a clause count as minimum_should_match, and finds nothing in a missing index", async () => {
    h.once('POST', '/ragflow_t1/_search', () => ({ hits: { hits: [] }, aggregations: { aggs_tag_kwd: { buckets: [{ key: 'tax', doc_count: 3 }] } } }));
    const query = { tokens: 'refund polici', keywords: ['tax audit'], keywordsTopn: 30 };
    const expected = paragraphQuery(query);
    expect(await h.store.matchingTagCounts('t1', ['tagkb1'], query)).toEqual([['tax', 3]]);
    const [req] = h.requests('POST', '/ragflow_t1/_search');
    expect((req!.body as { query: unknown }).query).toEqual({
      bool: {
        filter: [{ terms: { kb_id: ['tagkb1'] } }],
        must: [{ query_string: { fields: FULLTEXT_FIELDS, type: 'best_fields', query: expected.queryString, minimum_should_match: 0, boost: 1 } }],
      },
    });
    // a query the caller built is run as given
    h.once('POST', '/ragflow_t1/_search', () => ({ hits: { hits: [] }, aggregations: { aggs_tag_kwd: { buckets: [] } } }));
    await h.store.matchingTagCounts('t1', ['tagkb1'], { ...query, match: { queryString: '"tax audit" refund^0.7', minimumShouldMatch: 2 } });
    const given = (h.requests('POST', '/ragflow_t1/_search')[1]!.body as { query: { bool: { must: [{ query_string: Record<string, unknown> }] } } }).query.bool.must[0].query_string;
    expect(given).toMatchObject({ query: '"tax audit" refund^0.7', minimum_should_match: 2 });
    h.once('POST', '/ragflow_t1/_search', () => esError(404, 'index_not_found_exception'));
    expect(expected.queryString.startsWith('"tax audit" ')).toBe(true);
    expect(await h.store.matchingTagCounts('t1', ['tagkb1'], query)).toEqual([]);
  });

  it('creates ragflow_doc_meta_<tenant> with RAGFlow mapping and merges into what is stored, re-reading on a version conflict', async () => {
    h.once('PUT', '/ragflow_doc_meta_t1', () => ({ acknowledged: true }));
    // first merge: nothing stored yet
    h.once('GET', '/ragflow_doc_meta_t1/_doc/d1', () => esError(404, 'not_found'));
    h.once('PUT', '/ragflow_doc_meta_t1/_doc/d1', () => ({ result: 'created' }));
    expect(await h.store.mergeDocMetadata('t1', 'kb1', 'd1', { author: ['Ann、Bo'] })).toEqual({ author: ['Ann', 'Bo'] });
    const [create] = h.requests('PUT', '/ragflow_doc_meta_t1');
    expect((create!.body as { mappings: { properties: Record<string, unknown> } }).mappings.properties.meta_fields).toEqual({ type: 'object', dynamic: true });
    const [first] = h.requests('PUT', '/ragflow_doc_meta_t1/_doc/d1');
    expect(first!.body).toEqual({ id: 'd1', kb_id: 'kb1', meta_fields: { author: ['Ann', 'Bo'] } });
    // a first entry is created, so two replicas creating it at once conflict instead of overwriting
    expect(first!.querystring.op_type).toBe('create');

    // second merge: another replica wrote in between, so the first write conflicts
    h.once('GET', '/ragflow_doc_meta_t1/_doc/d1', () => ({ _id: 'd1', _seq_no: 1, _primary_term: 1, found: true, _source: { meta_fields: { author: ['Ann', 'Bo'] } } }));
    h.once('PUT', '/ragflow_doc_meta_t1/_doc/d1', () => esError(409, 'version_conflict_engine_exception'));
    h.once('GET', '/ragflow_doc_meta_t1/_doc/d1', () => ({ _id: 'd1', _seq_no: 2, _primary_term: 1, found: true, _source: { meta_fields: { author: ['Ann', 'Bo'], year: 2020 } } }));
    h.once('PUT', '/ragflow_doc_meta_t1/_doc/d1', () => ({ result: 'updated' }));
    expect(await h.store.mergeDocMetadata('t1', 'kb1', 'd1', { author: ['Cy'], year: 2024 })).toEqual({ author: ['Cy', 'Ann', 'Bo'], year: 2020 });
    const writes = h.requests('PUT', '/ragflow_doc_meta_t1/_doc/d1').slice(1);
    expect(writes.map((w) => w.querystring.if_seq_no)).toEqual(['1', '2']);
    expect(h.requests('PUT', '/ragflow_doc_meta_t1')).toHaveLength(1);
  });
});
