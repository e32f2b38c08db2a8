import { setTimeout as sleep } from 'node:timers/promises';
import { Client, errors, type estypes } from '@elastic/elasticsearch';
import { DocStoreError } from './errors.js';
import type { ParentChunk } from '@ragline/contracts';
import { getVector, isVectorField, searchOptions, vectorFieldOf } from './fields.js';
import { HIT_FIELDS, fulltextHits, hybridHits, numbers, vectorHits } from './hits.js';
import { ragflowQuery } from './ragflow-query.js';
import { QUERY_FIELDS } from '@ragline/rag-tokenizer';
import { checkId, checkTenant } from './ids.js';
import type { FulltextQuery } from '@ragline/rag-tokenizer';
import { DOC_META_INDEX_BODY, mergedDocMetadata, type DocMetadataFields } from './metadata.js';
import { paragraphQuery, type TagCount, type TagQuery } from './tags.js';
import type { DocStore, SearchHit, SearchRequest, StoredChunk, UpsertResult } from './types.js';
import ragflowMapping from './ragflow-es-mapping.json' with { type: 'json' };

export interface ElasticDocStoreOptions {
  /** cluster address, e.g. http://127.0.0.1:9200 (ignored when `client` is given) */
  node?: string;
  username?: string;
  password?: string;
  /** a ready client (tests build one on @elastic/elasticsearch-mock's connection); closed by close() */
  client?: Client;
  /** documents per bulk request; default 32 (RAGFlow's DOC_BULK_SIZE code default; its Docker .env sets 4) */
  bulkSize?: number;
  /** bytes per bulk request body, so a batch of long chunks never hits http.max_content_length; default 8 MiB */
  bulkMaxBytes?: number;
  /** attempts for a request or bulk item failing with 429/502/503/504 or a connection error; default 5 */
  maxAttempts?: number;
  /** first back-off delay, doubled per attempt with jitter; default 500 ms */
  retryDelayMs?: number;
  /** longest back-off delay; default 10 s */
  retryMaxDelayMs?: number;
  /** per-request timeout; default 60 s (RAGFlow's bulk timeout) */
  requestTimeoutMs?: number;
  /** index name prefix; default `ragflow_` (RAGFlow's index_name); tests use their own to stay apart */
  indexPrefix?: string;
}

/** RAGFlow's mapping only templates these dimensions; any other needs an explicit dense_vector. */
export const TEMPLATED_DIMS: readonly number[] = [512, 768, 1024, 1536];

/** RAGFlow's full-text fields and boosts (rag/nlp/query.py FulltextQueryer). */
/** RAGFlow's full-text fields with their boosts (FulltextQueryer.query_fields). */
export const FULLTEXT_FIELDS: string[] = [...QUERY_FIELDS];

/** the token fields RAGFlow's rerank reads */
const RANK_FIELDS = ['content_ltks', 'title_tks', 'important_kwd', 'question_tks'];
const RETRYABLE_STATUS = new Set([429, 502, 503, 504]);
/** ids per `ids` query in deleteByIds */
const ID_CHUNK = 1000;

/** The index body RAGFlow's create_idx sends: the whole conf/mapping.json. */
export function ragflowIndexBody(): { settings: estypes.IndicesIndexSettings; mappings: estypes.MappingTypeMapping } {
  const m = structuredClone(ragflowMapping) as unknown as { settings: estypes.IndicesIndexSettings; mappings: estypes.MappingTypeMapping };
  return { settings: m.settings, mappings: m.mappings };
}

/** The explicit mapping for a vector field RAGFlow has no template for. */
export function denseVectorMapping(dim: number): Record<string, estypes.MappingProperty> {
  return { [vectorFieldOf(dim)]: { type: 'dense_vector', dims: dim, index: true, similarity: 'cosine' } };
}

function statusOf(err: unknown): number | undefined {
  return err instanceof errors.ResponseError ? err.statusCode : undefined;
}

function retryable(err: unknown): boolean {
  if (err instanceof errors.ConnectionError || err instanceof errors.TimeoutError || err instanceof errors.NoLivingConnectionsError) return true;
  const s = statusOf(err);
  return s !== undefined && RETRYABLE_STATUS.has(s);
}

function isIndexMissing(err: unknown): boolean {
  if (statusOf(err) !== 404) return false;
  const body = (err as errors.ResponseError).body as { error?: { type?: string } } | undefined;
  return body?.error?.type === 'index_not_found_exception';
}

function describe(err: unknown): string {
  if (err instanceof errors.ResponseError) {
    const e = (err.body as { error?: { type?: string; reason?: string } } | undefined)?.error;
    return `${err.statusCode}${e?.type ? ` ${e.type}` : ''}${e?.reason ? `: ${e.reason}` : ''}`;
  }
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

interface Prepared {
  id: string;
  dim: number;
  /** the two ndjson lines of the bulk `index` action */
  lines: [string, string];
  bytes: number;
}

class ElasticDocStore implements DocStore {
  readonly kind = 'elasticsearch' as const;
  private readonly client: Client;
  private readonly prefix: string;
  private readonly bulkSize: number;
  private readonly bulkMaxBytes: number;
  private readonly maxAttempts: number;
  /** `<index>` once created, `<index>/<dim>` once its vector field is mapped */
  private readonly ensured = new Map<string, Promise<void>>();
  private closed = false;

  constructor(private readonly opts: ElasticDocStoreOptions) {
    if (!opts.client && !opts.node) throw new DocStoreError('elasticsearch doc store needs a node URL or a client', false);
    this.client =
      opts.client ??
      new Client({
        node: opts.node!,
        auth: opts.username ? { username: opts.username, password: opts.password ?? '' } : undefined,
        // retries are ours: back-off, and per-item retries inside bulk responses
        maxRetries: 0,
        requestTimeout: opts.requestTimeoutMs ?? 60_000,
      });
    this.prefix = opts.indexPrefix ?? 'ragflow_';
    this.bulkSize = opts.bulkSize ?? 32;
    this.bulkMaxBytes = opts.bulkMaxBytes ?? 8 * 1024 * 1024;
    this.maxAttempts = opts.maxAttempts ?? 5;
    if (!(Number.isInteger(this.bulkSize) && this.bulkSize > 0)) throw new DocStoreError(`bulkSize must be a positive integer, got ${this.bulkSize}`, false);
  }

  indexName(tenantId: string): string {
    return `${this.prefix}${checkTenant(tenantId)}`;
  }

  private backoff(attempt: number): Promise<void> {
    const base = this.opts.retryDelayMs ?? 500;
    const cap = this.opts.retryMaxDelayMs ?? 10_000;
    const ms = Math.min(cap, base * 2 ** (attempt - 1)) * (0.5 + Math.random() / 2);
    return sleep(ms);
  }

  /** Runs one request, retrying 429/5xx/connection failures with back-off; other errors are permanent. */
  private async call<T>(op: string, fn: () => Promise<T>): Promise<T> {
    if (this.closed) throw new DocStoreError('doc store is closed', false);
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (err) {
        const again = retryable(err);
        if (again && attempt < this.maxAttempts) {
          await this.backoff(attempt);
          continue;
        }
        throw new DocStoreError(`elasticsearch ${op} failed${again ? ` after ${attempt} attempts` : ''}: ${describe(err)}`, again, { cause: err });
      }
    }
  }

  private once(key: string, fn: () => Promise<void>): Promise<void> {
    let p = this.ensured.get(key);
    if (!p) {
      p = fn();
      this.ensured.set(key, p);
      p.catch(() => this.ensured.delete(key));
    }
    return p;
  }

  async ensureIndex(tenantId: string, dim: number): Promise<void> {
    const index = this.indexName(tenantId);
    if (!Number.isInteger(dim) || dim <= 0) throw new DocStoreError(`invalid vector dimension ${dim}`, false);
    await this.ensureTenantIndex(index);
    if (TEMPLATED_DIMS.includes(dim)) return;
    // without this a q_384_vec would be mapped dynamically as plain floats, not a searchable vector
    await this.once(`${index}/${dim}`, () =>
      this.call(`map ${vectorFieldOf(dim)} in ${index}`, async () => {
        await this.client.indices.putMapping({ index, properties: denseVectorMapping(dim) });
      }),
    );
  }

  /** The tenant's index in RAGFlow's mapping (no vector field of its own: parent records need none). */
  private async ensureTenantIndex(index: string): Promise<void> {
    await this.once(index, () =>
      this.call(`create index ${index}`, async () => {
        try {
          await this.client.indices.create({ index, ...ragflowIndexBody() });
        } catch (err) {
          // another replica (or an earlier run) created it: same mapping, nothing to do
          const type = ((err as errors.ResponseError).body as { error?: { type?: string } } | undefined)?.error?.type;
          if (statusOf(err) === 400 && type === 'resource_already_exists_exception') return;
          throw err;
        }
      }),
    );
  }

  private prepare(index: string, doc: StoredChunk): Prepared {
    const d = doc as Record<string, unknown>;
    const id = checkId('chunk id', d.id);
    const kbId = checkId('kb_id', d.kb_id);
    checkId('doc_id', d.doc_id);
    const { dim, vector, field } = getVector(d);
    // RAGFlow's insert: `_id` from `id` (never a `_id` inside the source), `kb_id` set on every document
    const { _id: _ignored, ...source } = d;
    const body = JSON.stringify({ ...source, kb_id: kbId, [field]: vector });
    const action = JSON.stringify({ index: { _index: index, _id: id } });
    return { id, dim, lines: [action, body], bytes: Buffer.byteLength(action) + Buffer.byteLength(body) + 2 };
  }

  async upsert(tenantId: string, docs: StoredChunk[]): Promise<UpsertResult> {
    const index = this.indexName(tenantId);
    const { byId, errors: errorsOut } = this.prepareAll(docs, (doc) => this.prepare(index, doc));
    const prepared = [...byId.values()];
    for (const dim of new Set(prepared.map((p) => p.dim))) {
      try {
        await this.ensureIndex(tenantId, dim);
      } catch (err) {
        const e = err as DocStoreError;
        for (const p of prepared.filter((x) => x.dim === dim)) errorsOut.push({ id: p.id, reason: e.message, retryable: e.retryable });
        byId.forEach((p, id) => p.dim === dim && byId.delete(id));
      }
    }
    return this.bulkAll([...byId.values()], errorsOut);
  }

  /**
   * Parent records as RAGFlow's insert_chunks writes its mothers: by id, no vector field, into the
   * tenant's index (created if missing, since they can arrive before any embedded batch).
   */
  async upsertParents(tenantId: string, parents: ParentChunk[]): Promise<UpsertResult> {
    const index = this.indexName(tenantId);
    const { byId, errors: errorsOut } = this.prepareAll(parents, (doc) => {
      const d = doc as Record<string, unknown>;
      const id = checkId('chunk id', d.id);
      checkId('kb_id', d.kb_id);
      checkId('doc_id', d.doc_id);
      if (Object.keys(d).some(isVectorField)) throw new DocStoreError(`parent record ${id} carries a vector`, false);
      const body = JSON.stringify(d);
      const action = JSON.stringify({ index: { _index: index, _id: id } });
      return { id, dim: 0, lines: [action, body], bytes: Buffer.byteLength(action) + Buffer.byteLength(body) + 2 };
    });
    if (byId.size === 0) return { written: 0, errors: errorsOut };
    try {
      await this.ensureTenantIndex(index);
    } catch (err) {
      const e = err as DocStoreError;
      for (const id of byId.keys()) errorsOut.push({ id, reason: e.message, retryable: e.retryable });
      return { written: 0, errors: errorsOut };
    }
    return this.bulkAll([...byId.values()], errorsOut);
  }

  /** Prepares each document; the last write of an id wins within a call, so each id is written once. */
  private prepareAll<T>(docs: T[], prepareOne: (doc: T) => Prepared): { byId: Map<string, Prepared>; errors: UpsertResult['errors'] } {
    const errors: UpsertResult['errors'] = [];
    const byId = new Map<string, Prepared>();
    for (const doc of docs) {
      const rawId = (doc as { id?: unknown } | undefined)?.id;
      try {
        const p = prepareOne(doc);
        byId.delete(p.id);
        byId.set(p.id, p);
      } catch (err) {
        const e = err instanceof DocStoreError ? err : new DocStoreError(String(err), false);
        errors.push({ id: typeof rawId === 'string' ? rawId : String(rawId), reason: e.message, retryable: e.retryable });
      }
    }
    return { byId, errors };
  }

  /** Writes prepared documents in bounded bulk requests, adding their failures to `errors`. */
  private async bulkAll(prepared: Prepared[], errors: UpsertResult['errors']): Promise<UpsertResult> {
    let written = 0;
    for (const group of this.groups(prepared)) {
      const r = await this.bulk(group);
      written += r.written;
      errors.push(...r.errors);
    }
    return { written, errors };
  }

  /** Bulk requests bounded by document count and body bytes. */
  private groups(items: Prepared[]): Prepared[][] {
    const out: Prepared[][] = [];
    let cur: Prepared[] = [];
    let bytes = 0;
    for (const p of items) {
      if (cur.length && (cur.length >= this.bulkSize || bytes + p.bytes > this.bulkMaxBytes)) {
        out.push(cur);
        cur = [];
        bytes = 0;
      }
      cur.push(p);
      bytes += p.bytes;
    }
    if (cur.length) out.push(cur);
    return out;
  }

  /**
   * One bulk request with retries: the whole request on 429/5xx/connection loss, and the items the
   * response marks 429/5xx; items failing otherwise are reported with ES's reason and not retried.
   */
  private async bulk(items: Prepared[]): Promise<UpsertResult> {
    const out: UpsertResult = { written: 0, errors: [] };
    let pending = items;
    for (let attempt = 1; pending.length; attempt++) {
      if (this.closed) throw new DocStoreError('doc store is closed', false);
      let res: estypes.BulkResponse;
      try {
        res = await this.client.bulk({ operations: pending.flatMap((p) => p.lines) as unknown as estypes.BulkOperationContainer[], refresh: false, timeout: '60s' });
      } catch (err) {
        const again = retryable(err);
        if (again && attempt < this.maxAttempts) {
          await this.backoff(attempt);
          continue;
        }
        const reason = `bulk request failed${again ? ` after ${attempt} attempts` : ''}: ${describe(err)}`;
        for (const p of pending) out.errors.push({ id: p.id, reason, retryable: again });
        return out;
      }
      const retry: Prepared[] = [];
      res.items.forEach((item, i) => {
        const p = pending[i]!;
        const r = item.index ?? Object.values(item)[0]!;
        if (r.status >= 200 && r.status < 300) {
          out.written++;
          return;
        }
        const reason = `${r.status} ${r.error?.type ?? 'error'}: ${r.error?.reason ?? 'no reason given'}`;
        if (RETRYABLE_STATUS.has(r.status) && attempt < this.maxAttempts) retry.push(p);
        else out.errors.push({ id: p.id, reason, retryable: RETRYABLE_STATUS.has(r.status) });
      });
      pending = retry;
      if (pending.length) await this.backoff(attempt);
    }
    return out;
  }

  private async deleteByQuery(tenantId: string, op: string, query: estypes.QueryDslQueryContainer): Promise<number> {
    const index = this.indexName(tenantId);
    return this.call(op, async () => {
      try {
        // RAGFlow deletes with refresh=True: what was removed is gone from search at once
        const res = await this.client.deleteByQuery({ index, query, refresh: true, conflicts: 'proceed' });
        return res.deleted ?? 0;
      } catch (err) {
        if (isIndexMissing(err)) return 0;
        throw err;
      }
    });
  }

  async deleteByDoc(tenantId: string, kbId: string, docId: string): Promise<number> {
    checkTenant(tenantId);
    const query = { bool: { filter: [{ term: { kb_id: checkId('kb_id', kbId) } }, { term: { doc_id: checkId('doc_id', docId) } }] } };
    return this.deleteByQuery(tenantId, 'deleteByDoc', query);
  }

  async deleteByIds(tenantId: string, kbId: string, ids: string[]): Promise<number> {
    checkTenant(tenantId);
    checkId('kb_id', kbId);
    const unique = [...new Set(ids.map((i) => checkId('chunk id', i)))];
    let removed = 0;
    for (let i = 0; i < unique.length; i += ID_CHUNK) {
      const part = unique.slice(i, i + ID_CHUNK);
      removed += await this.deleteByQuery(tenantId, 'deleteByIds', { bool: { filter: [{ term: { kb_id: kbId } }, { ids: { values: part } }] } });
    }
    return removed;
  }

  async refresh(tenantId: string): Promise<void> {
    const index = this.indexName(tenantId);
    await this.call(`refresh ${index}`, async () => {
      try {
        await this.client.indices.refresh({ index });
      } catch (err) {
        if (!isIndexMissing(err)) throw err;
      }
    });
  }

  async count(tenantId: string, filter: { kb_id?: string; doc_id?: string } = {}): Promise<number> {
    const index = this.indexName(tenantId);
    const must: estypes.QueryDslQueryContainer[] = [];
    if (filter.kb_id !== undefined) must.push({ term: { kb_id: checkId('kb_id', filter.kb_id) } });
    if (filter.doc_id !== undefined) must.push({ term: { doc_id: checkId('doc_id', filter.doc_id) } });
    return this.call('count', async () => {
      try {
        const res = await this.client.count({ index, query: { bool: { filter: must } } });
        return res.count;
      } catch (err) {
        if (isIndexMissing(err)) return 0;
        throw err;
      }
    });
  }

  async get(tenantId: string, ids: string[]): Promise<StoredChunk[]> {
    const index = this.indexName(tenantId);
    if (ids.length === 0) return [];
    const wanted = [...new Set(ids.map((i) => checkId('chunk id', i)))];
    const found = new Map<string, StoredChunk>();
    for (let i = 0; i < wanted.length; i += ID_CHUNK) {
      const part = wanted.slice(i, i + ID_CHUNK);
      const res = await this.call('get', async () => {
        try {
          return await this.client.mget<StoredChunk>({ index, ids: part });
        } catch (err) {
          if (isIndexMissing(err)) return { docs: [] };
          throw err;
        }
      });
      for (const d of res.docs) {
        if ('found' in d && d.found && d._source) found.set(d._id, d._source);
      }
    }
    return wanted.flatMap((id) => {
      const d = found.get(id);
      return d ? [d] : [];
    });
  }

  /** A terms aggregation of tag_kwd over the chunks of `kbIds` matching `query` (RAGFlow's get_aggregation). */
  private async tagAggregation(tenantId: string, kbIds: string[], must: estypes.QueryDslQueryContainer[]): Promise<TagCount[]> {
    if (kbIds.length === 0) return [];
    const index = this.indexName(tenantId);
    const filter: estypes.QueryDslQueryContainer[] = [{ terms: { kb_id: kbIds.map((k) => checkId('kb_id', k)) } }];
    return this.call('tag aggregation', async () => {
      try {
        const res = await this.client.search({
          index,
          size: 0,
          query: { bool: { filter, must } },
          aggs: { aggs_tag_kwd: { terms: { field: 'tag_kwd', size: 1_000_000 } } },
        });
        const agg = res.aggregations?.aggs_tag_kwd as estypes.AggregationsStringTermsAggregate | undefined;
        const buckets = (agg?.buckets ?? []) as estypes.AggregationsStringTermsBucket[];
        return buckets.map((b): TagCount => [String(b.key), b.doc_count]);
      } catch (err) {
        if (isIndexMissing(err)) return [];
        throw err;
      }
    });
  }

  allTagCounts(tenantId: string, kbIds: string[]): Promise<TagCount[]> {
    return this.tagAggregation(tenantId, kbIds, []);
  }

  matchingTagCounts(tenantId: string, kbIds: string[], match: TagQuery): Promise<TagCount[]> {
    const query = match.match ?? paragraphQuery(match);
    if (!query.queryString.trim()) return Promise.resolve([]);
    // RAGFlow's MatchTextExpr for paragraph(): query_string over the full-text fields, a clause count as minimum_should_match
    return this.tagAggregation(tenantId, kbIds, [
      { query_string: { fields: FULLTEXT_FIELDS, type: 'best_fields', query: query.queryString, minimum_should_match: query.minimumShouldMatch, boost: 1 } },
    ]);
  }

  /** `ragflow_doc_meta_<tenant>` under the default prefix, as RAGFlow names it */
  private docMetaIndex(tenantId: string): string {
    return `${this.prefix}doc_meta_${checkTenant(tenantId)}`;
  }

  async getDocMetadata(tenantId: string, docId: string): Promise<DocMetadataFields | undefined> {
    const index = this.docMetaIndex(tenantId);
    checkId('doc_id', docId);
    return this.call('get document metadata', async () => {
      try {
        const res = await this.client.get<{ meta_fields?: DocMetadataFields }>({ index, id: docId });
        return res._source?.meta_fields ?? {};
      } catch (err) {
        if (statusOf(err) === 404) return undefined;
        throw err;
      }
    });
  }

  /**
   * Merges `meta` into the document's entry of `ragflow_doc_meta_<tenant>` as RAGFlow's task executor
   * does (update_metadata_to over what is stored, then _split_combined_values), creating the index
   * with RAGFlow's mapping on first use. Concurrent merges (batches of one document on several
   * indexer replicas) are serialised by optimistic concurrency: a conflict re-reads and merges again.
   */
  async mergeDocMetadata(tenantId: string, kbId: string, docId: string, meta: DocMetadataFields): Promise<DocMetadataFields> {
    const index = this.docMetaIndex(tenantId);
    checkId('kb_id', kbId);
    checkId('doc_id', docId);
    await this.once(index, () =>
      this.call(`create ${index}`, async () => {
        try {
          await this.client.indices.create({ index, ...(DOC_META_INDEX_BODY as unknown as Omit<estypes.IndicesCreateRequest, 'index'>) });
        } catch (err) {
          if (!/resource_already_exists_exception/.test(describe(err))) throw err;
        }
      }),
    );
    for (let attempt = 1; ; attempt++) {
      const current = await this.call('get document metadata', async () => {
        try {
          const res = await this.client.get<{ meta_fields?: DocMetadataFields }>({ index, id: docId });
          return { fields: res._source?.meta_fields ?? {}, seq: res._seq_no, term: res._primary_term };
        } catch (err) {
          if (statusOf(err) === 404) return undefined;
          throw err;
        }
      });
      const merged = mergedDocMetadata(current?.fields, meta);
      try {
        await this.client.index({
          index,
          id: docId,
          document: { id: docId, kb_id: kbId, meta_fields: merged },
          ...(current && current.seq !== undefined ? { if_seq_no: current.seq, if_primary_term: current.term } : { op_type: 'create' as const }),
          // RAGFlow refreshes so the metadata is searchable at once
          refresh: true,
        });
        return merged;
      } catch (err) {
        if (statusOf(err) === 409 && attempt < 10) continue;
        if (retryable(err) && attempt < this.maxAttempts) {
          await this.backoff(attempt);
          continue;
        }
        throw new DocStoreError(`elasticsearch merge document metadata failed: ${describe(err)}`, retryable(err), { cause: err });
      }
    }
  }

  /** Whether the tenant's index has the vector field mapped (a kNN on an unmapped field is an error). */
  private async hasField(index: string, field: string): Promise<boolean> {
    return this.call('field mapping', async () => {
      try {
        const res = await this.client.indices.getFieldMapping({ index, fields: field });
        return Object.values(res).some((m) => field in (m.mappings ?? {}));
      } catch (err) {
        if (isIndexMissing(err)) return false;
        throw err;
      }
    });
  }

  /** RAGFlow's search filters: kb and doc ids, and never chunks with available_int < 1. */
  private filters(req: SearchRequest): estypes.QueryDslQueryContainer[] {
    const f: estypes.QueryDslQueryContainer[] = [{ bool: { must_not: [{ range: { available_int: { lt: 1 } } }] } }];
    if (req.kbIds) f.push({ terms: { kb_id: req.kbIds.map((k) => checkId('kb_id', k)) } });
    if (req.docIds) f.push({ terms: { doc_id: req.docIds.map((d) => checkId('doc_id', d)) } });
    return f;
  }

  /** RAGFlow's full-text clause: its weighted query_string, minimum_should_match as a whole percentage. */
  private textQuery(q: FulltextQuery): estypes.QueryDslQueryContainer {
    return {
      query_string: { fields: FULLTEXT_FIELDS, type: 'best_fields', query: q.queryString, minimum_should_match: `${Math.trunc(q.minimumShouldMatch * 100)}%`, boost: 1 },
    };
  }

  async search(req: SearchRequest): Promise<SearchHit[]> {
    const index = this.indexName(req.tenantId);
    const { topK, weight: w } = searchOptions(req);
    if (req.kbIds?.length === 0 || req.docIds?.length === 0) return [];
    const filter = this.filters(req);
    if ((req.mode === 'vector' || req.mode === 'hybrid') && (!req.vector || req.vector.length === 0)) {
      throw new DocStoreError(`${req.mode} search needs a query vector`, false);
    }
    const text = req.mode === 'vector' ? undefined : ragflowQuery(req.query ?? '');
    if (req.mode === 'fulltext') return text ? this.fulltext(index, text, filter, topK) : [];
    const vector = req.vector!;
    const field = vectorFieldOf(vector.length);
    if (!(await this.hasField(index, field))) return [];
    if (req.mode === 'vector') return this.knn(index, field, vector, filter, topK);
    return this.hybrid(index, field, text, vector, filter, topK, w);
  }

  private async searchRaw(op: string, body: estypes.SearchRequest): Promise<estypes.SearchHit<Record<string, unknown>>[]> {
    return this.call(op, async () => {
      try {
        const res = await this.client.search<Record<string, unknown>>(body);
        return res.hits.hits;
      } catch (err) {
        if (isIndexMissing(err)) return [];
        throw err;
      }
    });
  }

  private async fulltext(index: string, text: FulltextQuery, filter: estypes.QueryDslQueryContainer[], topK: number): Promise<SearchHit[]> {
    let hits = await this.fulltextRaw(index, text, filter, topK);
    // RAGFlow asks again with a looser minimum_should_match when nothing matched
    if (hits.length === 0 && text.minimumShouldMatch > 0.1) hits = await this.fulltextRaw(index, { ...text, minimumShouldMatch: 0.1 }, filter, topK);
    return fulltextHits(hits.map((h) => ({ doc: h._source!, score: h._score ?? 0 })), topK);
  }

  private fulltextRaw(index: string, text: FulltextQuery, filter: estypes.QueryDslQueryContainer[], topK: number): Promise<estypes.SearchHit<Record<string, unknown>>[]> {
    return this.searchRaw('fulltext search', {
      index,
      // two shards (RAGFlow's settings): global term statistics keep scores comparable across them
      search_type: 'dfs_query_then_fetch',
      query: { bool: { filter, must: [this.textQuery(text)] } },
      size: topK,
      _source: HIT_FIELDS,
    });
  }

  private async knn(index: string, field: string, vector: number[], filter: estypes.QueryDslQueryContainer[], topK: number): Promise<SearchHit[]> {
    const hits = await this.searchRaw('vector search', {
      index,
      knn: { field, query_vector: vector, k: topK, num_candidates: Math.max(topK * 2, 100), filter: { bool: { filter } } },
      size: topK,
      _source: HIT_FIELDS,
    });
    // ES scores cosine kNN as (1 + cos) / 2
    return vectorHits(hits.map((h) => ({ doc: h._source!, cosine: 2 * (h._score ?? 0) - 1 })), topK);
  }

  /**
   * RAGFlow's hybrid request (text query boosted by 1 - w, kNN with the same filter) picks the
   * candidates; each is then scored as RAGFlow's rerank does: (1 - w) x the query keywords' token
   * similarity to the chunk's tokens + w x cosine on its stored vector.
   */
  private async hybrid(
    index: string,
    field: string,
    text: FulltextQuery | undefined,
    vector: number[],
    filter: estypes.QueryDslQueryContainer[],
    topK: number,
    w: number,
  ): Promise<SearchHit[]> {
    const wide = topK * 3;
    const candidates = await this.searchRaw('hybrid search', {
      index,
      search_type: 'dfs_query_then_fetch',
      ...(text ? { query: { bool: { filter, must: [this.textQuery(text)], boost: 1 - w } } } : {}),
      knn: { field, query_vector: vector, k: wide, num_candidates: Math.max(wide * 2, 100), filter: { bool: { filter } } },
      size: wide * 2,
      _source: [...HIT_FIELDS, ...RANK_FIELDS, field],
    });
    return hybridHits(
      candidates.map((c) => ({ doc: c._source!, tokenFields: c._source!, vector: numbers(c._source![field]) })),
      text,
      vector,
      w,
      topK,
    );
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.client.close();
    } catch {
      // a connection that cannot close (a test double) has no sockets to release
    }
  }
}

/**
 * The Elasticsearch doc store in RAGFlow's schema: index `ragflow_<tenant>` created with RAGFlow's
 * settings and mapping, `_id` = chunk id, `kb_id` on every document, bulk upserts bounded by count
 * and bytes with retries, deletes by query with refresh, and full-text / kNN / hybrid search.
 */
export function createElasticDocStore(opts: ElasticDocStoreOptions): DocStore & { indexName(tenantId: string): string } {
  return new ElasticDocStore(opts);
}
