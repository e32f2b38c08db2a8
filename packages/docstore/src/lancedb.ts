import * as lancedb from '@lancedb/lancedb';
import { Field, FixedSizeList, Float32, Float64, Int32, List, Schema, Utf8 } from 'apache-arrow';
import { DocStoreError } from './errors.js';
import { getVector, isVectorField, searchOptions, vectorFieldOf } from './fields.js';
import { HIT_FIELDS, fulltextHits, hybridHits, numbers, vectorHits } from './hits.js';
import { ragflowQuery } from './ragflow-query.js';
import { checkId, checkTenant } from './ids.js';
import { and, eq, inList } from './sql.js';
import { QUERY_FIELDS, type FulltextQuery } from '@ragline/rag-tokenizer';
import { docMetaIndexName, mergedDocMetadata, type DocMetadataFields } from './metadata.js';
import { countTags, matchedClauses, paragraphQuery, type ParagraphQuery, type TagCount, type TagQuery } from './tags.js';
import type { ParentChunk } from '@ragline/contracts';
import type { DocStore, SearchHit, SearchRequest, StoredChunk, UpsertResult } from './types.js';

/** tag knowledge base rows read per table for one aggregation (RAGFlow's terms aggregation has no limit; tag KBs are small) */
const TAG_SCAN_LIMIT = 100_000;

/** ragflow_doc_meta_<tenant>: RAGFlow's document metadata entries */
const DOC_META_SCHEMA = new Schema([new Field('id', new Utf8(), false), new Field('kb_id', new Utf8(), false), new Field('meta_json', new Utf8(), false)]);

export interface LanceDocStoreOptions {
  /** directory holding the tables; created if missing */
  dir: string;
  /**
   * seconds between checks for commits by other processes; default 0 = every read sees the latest
   * commit (a reader process sees what the indexer refreshed at once)
   */
  readConsistencyIntervalS?: number;
  /**
   * refresh() folds new rows into the indexes (a table rewrite) only once this process has written
   * this many rows since the last rewrite; below that, searches scan the unindexed rows directly.
   * Default 20000.
   */
  optimizeAfterRows?: number;
  /**
   * refresh() also compacts once this many writes were committed since the last rewrite: every
   * commit adds a fragment, and each upsert's merge reads all of them, so a trickle of small batches
   * would otherwise make every write slower than the one before. Default 64.
   */
  compactAfterWrites?: number;
  /** upserts into one table that arrive while a write is running are merged into one commit of at most this many rows; default 2048 */
  maxRowsPerWrite?: number;
  /**
   * a table's new rows are folded into its indexes once no write has come for this long. Rows not
   * yet indexed are found, but LanceDB scores them without the fields' boosts, so a small knowledge
   * base that never reaches the refresh() thresholds would otherwise be ranked without them for
   * good; a busy one is rewritten only when a pause comes. Default 2000 ms; 0 turns it off.
   */
  indexWhenIdleMs?: number;
  /** table versions older than this are pruned when the table is optimised; default 10 min */
  keepVersionsMs?: number;
  /** bytes of index data LanceDB keeps in memory for this store; default 256 MiB */
  indexCacheBytes?: number;
  /** bytes of file metadata (manifests, schemas) LanceDB keeps in memory for this store; default 64 MiB */
  metadataCacheBytes?: number;
}

export const DEFAULT_INDEX_CACHE_BYTES = 256 * 1024 * 1024;
export const DEFAULT_METADATA_CACHE_BYTES = 64 * 1024 * 1024;

/** RAGFlow's full-text fields and boosts (`title_tks^10`, ..., `content_sm_ltks`), each a column with its own index. */
const FTS = QUERY_FIELDS.map((f) => {
  const [name, boost] = f.split('^');
  return { name: name!, boost: boost ? Number(boost) : 1 };
});
const FTS_FIELDS = FTS.map((f) => f.name);
/**
 * Token columns added after the first release: a table written before them gets them (empty, then
 * filled from each row's doc_json) when it is opened. Nullable, as columns added to a table are.
 */
const ADDED_TOKEN_FIELDS = ['title_sm_tks', 'important_kwd', 'important_tks', 'question_tks', 'content_sm_ltks'];
/** Both are already tokenised, space-separated, lower-cased by the parser: split on whitespace only. */
const FTS_CONFIG = { baseTokenizer: 'whitespace', lowercase: true, stem: false, removeStopWords: false, asciiFolding: false, withPosition: false } as const;
const SCALAR_FIELDS = ['id', 'kb_id', 'doc_id'] as const;
/** ids per `IN (...)` filter */
const ID_CHUNK = 500;
const HIT_COLUMNS = HIT_FIELDS;

function tableSchema(dim: number): Schema {
  const str = (name: string) => new Field(name, new Utf8(), false);
  return new Schema([
    str('id'),
    str('doc_id'),
    str('kb_id'),
    str('docnm_kwd'),
    str('title_tks'),
    str('content_with_weight'),
    str('content_ltks'),
    ...ADDED_TOKEN_FIELDS.map((name) => new Field(name, new Utf8(), true)),
    new Field('page_num_int', new List(new Field('item', new Int32(), true)), false),
    new Field('create_timestamp_flt', new Float64(), false),
    // RAGFlow: absent means available; 0 hides the chunk from search (mother chunks, disabled chunks)
    new Field('available_int', new Int32(), false),
    new Field(vectorFieldOf(dim), new FixedSizeList(dim, new Field('item', new Float32(), true)), false),
    // the whole document minus its vector, so get() returns exactly what was written
    str('doc_json'),
  ]);
}

/**
 * Parent records (children_delimiter's mothers) have no vector, so they cannot sit in a vector
 * table; their own table holds what get, delete and count read. Search never looks at it, as
 * RAGFlow's available_int filter never returns them.
 */
const PARENT_SCHEMA = new Schema([
  new Field('id', new Utf8(), false),
  new Field('doc_id', new Utf8(), false),
  new Field('kb_id', new Utf8(), false),
  new Field('available_int', new Int32(), false),
  new Field('doc_json', new Utf8(), false),
]);

/** Not all digits after the prefix, so tenantTables (the vector tables) never lists it. */
function parentTableName(tenantId: string): string {
  return `ragflow_${tenantId}__parents`;
}

function tableName(tenantId: string, dim: number): string {
  return `ragflow_${tenantId}__${dim}`;
}

function tablePrefix(tenantId: string): string {
  return `ragflow_${tenantId}__`;
}

/**
 * Table names are listed in byte order: start just before `name` (its last character's predecessor
 * followed by '~', which sorts after every character a table name of ours can hold).
 */
async function exists(db: lancedb.Connection, name: string): Promise<boolean> {
  const before = name.slice(0, -1) + String.fromCharCode(name.charCodeAt(name.length - 1) - 1) + '~';
  const [first] = await db.tableNames({ startAfter: before, limit: 1 });
  return first === name;
}

/**
 * A table another process is creating is listed (its folder exists) before its first version is
 * committed, and opening it then fails; until that commit it holds nothing, so readers skip it.
 */
function isUncommittedTable(err: unknown): boolean {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.includes('_versions') && /not found/i.test(msg);
}

function str(doc: Record<string, unknown>, key: string): string {
  const v = doc[key];
  return typeof v === 'string' ? v : '';
}

function intList(doc: Record<string, unknown>, key: string): number[] {
  const v = doc[key];
  if (v === undefined) return [];
  if (!Array.isArray(v) || !v.every((x) => Number.isInteger(x) && Math.abs(x as number) < 2 ** 31)) {
    throw new DocStoreError(`${key} must be a list of 32-bit integers`, false);
  }
  return v as number[];
}

/**
 * important_kwd is a keyword field in RAGFlow's mapping: a query term matches a whole keyword. Each
 * keyword becomes one whitespace-free term (inner spaces as '_'), so the whitespace tokenizer keeps it whole.
 */
function keywordTerms(v: unknown): string {
  const list = Array.isArray(v) ? v : typeof v === 'string' ? [v] : [];
  return list
    .filter((k): k is string => typeof k === 'string')
    .map((k) => k.trim().replace(/\s+/g, '_'))
    .filter(Boolean)
    .join(' ');
}

interface Row extends Record<string, unknown> {
  id: string;
}

function toRow(doc: StoredChunk): { row: Row; dim: number } {
  const d = doc as Record<string, unknown>;
  const id = checkId('chunk id', d.id);
  checkId('kb_id', d.kb_id);
  checkId('doc_id', d.doc_id);
  const { dim, vector, field } = getVector(d);
  const rest: Record<string, unknown> = { ...d };
  delete rest[field];
  const available = d.available_int;
  const ts = d.create_timestamp_flt;
  return {
    dim,
    row: {
      id,
      doc_id: d.doc_id as string,
      kb_id: d.kb_id as string,
      docnm_kwd: str(d, 'docnm_kwd'),
      title_tks: str(d, 'title_tks'),
      content_with_weight: str(d, 'content_with_weight'),
      content_ltks: str(d, 'content_ltks'),
      title_sm_tks: str(d, 'title_sm_tks'),
      important_kwd: keywordTerms(d.important_kwd),
      important_tks: str(d, 'important_tks'),
      question_tks: str(d, 'question_tks'),
      content_sm_ltks: str(d, 'content_sm_ltks'),
      page_num_int: intList(d, 'page_num_int'),
      create_timestamp_flt: typeof ts === 'number' && Number.isFinite(ts) ? ts : 0,
      available_int: typeof available === 'number' && Number.isInteger(available) ? available : 1,
      [field]: vector,
      doc_json: JSON.stringify(rest),
    },
  };
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * RAGFlow's weighted query as LanceDB full-text clauses: each weighted term (a token, a synonym, a
 * fine-grained part, an adjacent pair that must both match) on each token field with the field's boost.
 */
export function lanceFtsQuery(q: FulltextQuery): lancedb.BooleanQuery {
  const clauses: [lancedb.Occur, lancedb.FullTextQuery][] = [];
  for (const term of q.terms) {
    if (!term.tokens.length || !(term.weight > 0)) continue;
    const operator = term.tokens.length > 1 ? lancedb.Operator.And : lancedb.Operator.Or;
    for (const { name, boost } of FTS) {
      clauses.push([lancedb.Occur.Should, new lancedb.MatchQuery(term.tokens.join(' '), name, { boost: term.weight * boost, operator })]);
    }
  }
  return new lancedb.BooleanQuery(clauses);
}

function wrap(op: string, err: unknown): DocStoreError {
  if (err instanceof DocStoreError) return err;
  const msg = err instanceof Error ? err.message : String(err);
  return new DocStoreError(`lancedb ${op} failed: ${msg}`, true, { cause: err });
}

/** The LanceDB store: a DocStore that also reports what its caches hold. */
export interface LanceDocStore extends DocStore {
  /** bytes in this store's LanceDB caches (index data and metadata); bounded by the cache options */
  cacheBytes(): number;
  /** folds every row of the tenant written since the last rewrite into the indexes now (what the idle timer does) */
  indexPending(tenantId: string): Promise<void>;
}

class LanceStore implements LanceDocStore {
  readonly kind = 'lancedb' as const;
  private readonly db: Promise<lancedb.Connection>;
  private readonly session: lancedb.Session;
  private readonly tables = new Map<string, Promise<lancedb.Table>>();
  /** parent-record tables (see PARENT_SCHEMA), by name */
  private readonly parentTables = new Map<string, Promise<lancedb.Table>>();
  /** tail of each table's write queue: one write at a time per table within this process */
  private readonly queues = new Map<string, Promise<unknown>>();
  /** per table, the timer that indexes its new rows once writes pause */
  private readonly idleTimers = new Map<string, NodeJS.Timeout>();
  /** rows waiting for each table's next merged write, with the promise of that write */
  private readonly pendingWrites = new Map<string, { rows: Row[]; done: Promise<void> }>();
  /** commits and rows per table since this process last rewrote it (optimize); the store has one writer process */
  private readonly sinceOptimize = new Map<string, { writes: number; rows: number }>();
  /** tables whose indexes this process has checked */
  private readonly indexesChecked = new Set<string>();
  private closed = false;

  constructor(private readonly opts: LanceDocStoreOptions) {
    // LanceDB's default session caches up to 6 GB of index data and 1 GB of metadata, and every
    // upsert commits a table version whose manifest and index state land in those caches: an indexer
    // grew by about 100 MB a minute under a steady trickle of documents. Bounded caches keep it flat.
    // The session goes in the options: connect()'s third (session) argument is dropped by lancedb 0.37.
    this.session = new lancedb.Session(
      BigInt(opts.indexCacheBytes ?? DEFAULT_INDEX_CACHE_BYTES),
      BigInt(opts.metadataCacheBytes ?? DEFAULT_METADATA_CACHE_BYTES),
    );
    this.db = lancedb.connect(opts.dir, { readConsistencyInterval: opts.readConsistencyIntervalS ?? 0, session: this.session });
    // surfaced by the first operation; avoid an unhandled rejection meanwhile
    this.db.catch(() => undefined);
  }

  private async conn(): Promise<lancedb.Connection> {
    if (this.closed) throw new DocStoreError('doc store is closed', false);
    try {
      return await this.db;
    } catch (err) {
      throw wrap(`connect ${this.opts.dir}`, err);
    }
  }

  private serial<T>(table: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.queues.get(table) ?? Promise.resolve();
    const run = prev.then(fn);
    const tail = run.catch(() => undefined);
    this.queues.set(table, tail);
    void tail.then(() => {
      if (this.queues.get(table) === tail) this.queues.delete(table);
    });
    return run;
  }

  /** Open a table, creating it (with its full-text indexes) when `createDim` is given and it is missing. */
  private table(name: string, createDim?: number): Promise<lancedb.Table> {
    let t = this.tables.get(name);
    if (!t) {
      t = (async () => {
        const db = await this.conn();
        if (await exists(db, name)) return this.migrate(await db.openTable(name));
        if (createDim === undefined) throw new DocStoreError(`table ${name} does not exist`, false);
        const table = await db.createEmptyTable(name, tableSchema(createDim), { existOk: true });
        await this.ensureIndexes(table);
        return table;
      })();
      this.tables.set(name, t);
      t.catch(() => this.tables.delete(name));
    }
    return t;
  }

  /**
   * Gives a table written before the added token columns those columns, filled from each row's
   * doc_json (the whole chunk as written), and their full-text indexes.
   */
  private async migrate(table: lancedb.Table): Promise<lancedb.Table> {
    const have = new Set((await table.schema()).fields.map((f) => f.name));
    const missing = ADDED_TOKEN_FIELDS.filter((n) => !have.has(n));
    if (missing.length === 0) return table;
    await table.addColumns(missing.map((name) => ({ name, valueSql: "CAST('' AS STRING)" })));
    const dim = Number(/__(\d+)$/.exec(table.name)?.[1]);
    const field = vectorFieldOf(dim);
    const ids = ((await table.query().select(['id']).toArray()) as Record<string, unknown>[]).map((r) => r.id as string);
    for (const part of chunks(ids, ID_CHUNK)) {
      const rows = (await table.query().where(inList('id', 'chunk id', part)).select(['doc_json', field]).toArray()) as Record<string, unknown>[];
      const full = rows.map((r) => toRow({ ...(JSON.parse(r.doc_json as string) as Record<string, unknown>), [field]: numbers(r[field]) } as StoredChunk).row);
      await table.mergeInsert('id').whenMatchedUpdateAll().execute(lancedb.makeArrowTable(full, { schema: tableSchema(dim) }));
    }
    await this.ensureIndexes(table);
    return table;
  }

  /** Full-text indexes, and scalar ones on the columns every get, delete and filter uses. */
  private async ensureIndexes(table: lancedb.Table): Promise<boolean> {
    const have = new Set((await table.listIndices()).flatMap((i) => i.columns));
    let created = false;
    for (const col of FTS_FIELDS) {
      if (have.has(col)) continue;
      await table.createIndex(col, { config: lancedb.Index.fts(FTS_CONFIG) });
      created = true;
    }
    for (const col of SCALAR_FIELDS) {
      if (have.has(col)) continue;
      await table.createIndex(col, { config: lancedb.Index.btree() });
      created = true;
    }
    return created;
  }

  /** Every table of the tenant (one per vector dimension), with its dimension. */
  private async tenantTables(tenantId: string): Promise<{ dim: number; table: lancedb.Table }[]> {
    const db = await this.conn();
    const prefix = tablePrefix(tenantId);
    const out: { dim: number; table: lancedb.Table }[] = [];
    let after = prefix;
    for (;;) {
      const page = await db.tableNames({ startAfter: after, limit: 100 });
      for (const name of page) {
        if (!name.startsWith(prefix)) return out;
        const rest = name.slice(prefix.length);
        if (!/^\d+$/.test(rest)) continue;
        const table = await this.committedTable(name);
        if (table) out.push({ dim: Number(rest), table });
      }
      if (page.length < 100) return out;
      after = page[page.length - 1]!;
    }
  }

  async ensureIndex(tenantId: string, dim: number): Promise<void> {
    checkTenant(tenantId);
    if (!Number.isInteger(dim) || dim <= 0) throw new DocStoreError(`invalid vector dimension ${dim}`, false);
    const name = tableName(tenantId, dim);
    try {
      const known = this.tables.get(name);
      if (known) await known;
      else await this.serial(name, () => this.table(name, dim));
    } catch (err) {
      throw wrap(`ensureIndex ${name}`, err);
    }
  }

  async upsert(tenantId: string, docs: StoredChunk[]): Promise<UpsertResult> {
    checkTenant(tenantId);
    const errors: UpsertResult['errors'] = [];
    // last write of an id wins within a call, as with consecutive ES index operations
    const byDim = new Map<number, Map<string, Row>>();
    for (const doc of docs) {
      const id = typeof doc?.id === 'string' ? doc.id : String((doc as { id?: unknown } | undefined)?.id);
      try {
        const { row, dim } = toRow(doc);
        let group = byDim.get(dim);
        if (!group) byDim.set(dim, (group = new Map()));
        group.delete(row.id);
        group.set(row.id, row);
      } catch (err) {
        const e = wrap('upsert', err);
        errors.push({ id, reason: e.message, retryable: e.retryable });
      }
    }
    let written = 0;
    for (const [dim, group] of byDim) {
      const rows = [...group.values()];
      const name = tableName(tenantId, dim);
      try {
        await this.ensureIndex(tenantId, dim);
        await this.mergeRows(name, dim, rows);
        // ES keeps one document per _id: a chunk re-embedded at another dimension leaves its old table
        await this.removeFromOtherDims(tenantId, dim, rows.map((r) => r.id));
        written += rows.length;
      } catch (err) {
        const e = wrap(`upsert into ${name}`, err);
        for (const r of rows) errors.push({ id: r.id, reason: e.message, retryable: e.retryable });
      }
    }
    return { written, errors };
  }

  /**
   * Group commit: rows for a table join the next write queued behind the running one, so concurrent
   * batches (the indexer handles several at once) share one merge and one commit. Within a merged
   * write the last row of an id wins, as it would in consecutive writes.
   */
  private mergeRows(name: string, dim: number, rows: Row[]): Promise<void> {
    let group = this.pendingWrites.get(name);
    if (!group) {
      const created: { rows: Row[]; done: Promise<void> } = { rows: [], done: Promise.resolve() };
      created.done = this.serial(name, async () => {
        if (this.pendingWrites.get(name) === created) this.pendingWrites.delete(name);
        const byId = new Map<string, Row>();
        for (const r of created.rows) {
          byId.delete(r.id);
          byId.set(r.id, r);
        }
        const table = await this.table(name);
        const data = lancedb.makeArrowTable([...byId.values()], { schema: tableSchema(dim) });
        await table.mergeInsert('id').whenMatchedUpdateAll().whenNotMatchedInsertAll().execute(data);
        const since = this.sinceOptimize.get(name) ?? { writes: 0, rows: 0 };
        this.sinceOptimize.set(name, { writes: since.writes + 1, rows: since.rows + byId.size });
        this.indexWhenIdle(name);
      });
      this.pendingWrites.set(name, (group = created));
    }
    group.rows.push(...rows);
    // a full group takes no more rows: the next upsert starts a new one, queued behind it
    if (group.rows.length >= (this.opts.maxRowsPerWrite ?? 2048) && this.pendingWrites.get(name) === group) this.pendingWrites.delete(name);
    return group.done;
  }

  /** (Re)starts the table's idle timer: each write pushes the rewrite back, so a burst is indexed once, after it. */
  private indexWhenIdle(name: string): void {
    const ms = this.opts.indexWhenIdleMs ?? 2000;
    if (ms <= 0 || this.closed) return;
    clearTimeout(this.idleTimers.get(name));
    const timer = setTimeout(() => {
      this.idleTimers.delete(name);
      // a failed rewrite leaves the rows found but unboosted; the next write or refresh tries again
      this.serial(name, () => this.optimizeIfWritten(name)).catch(() => {});
    }, ms);
    timer.unref();
    this.idleTimers.set(name, timer);
  }

  /** Rewrites the table (index update, compaction, old versions pruned) when this process wrote to it since the last rewrite. */
  private async optimizeIfWritten(name: string): Promise<void> {
    if (this.closed || !this.sinceOptimize.get(name)?.writes) return;
    const table = await this.table(name);
    await table.optimize({ cleanupOlderThan: new Date(Date.now() - (this.opts.keepVersionsMs ?? 10 * 60_000)) });
    this.sinceOptimize.set(name, { writes: 0, rows: 0 });
  }

  async indexPending(tenantId: string): Promise<void> {
    checkTenant(tenantId);
    const prefix = tablePrefix(tenantId);
    try {
      for (const name of [...this.sinceOptimize.keys()]) {
        if (!name.startsWith(prefix) || !/^\d+$/.test(name.slice(prefix.length))) continue;
        clearTimeout(this.idleTimers.get(name));
        this.idleTimers.delete(name);
        await this.serial(name, () => this.optimizeIfWritten(name));
      }
    } catch (err) {
      throw wrap('indexPending', err);
    }
  }

  private async removeFromOtherDims(tenantId: string, dim: number, ids: string[]): Promise<void> {
    for (const other of await this.tenantTables(tenantId)) {
      if (other.dim === dim) continue;
      for (const part of chunks(ids, ID_CHUNK)) {
        await this.serial(tableName(tenantId, other.dim), () => other.table.delete(inList('id', 'chunk id', part)));
      }
    }
  }

  private async deleteWhere(tenantId: string, where: string[]): Promise<number> {
    let removed = 0;
    for (const { dim, table } of await this.tenantTables(tenantId)) {
      for (const w of where) {
        const res = await this.serial(tableName(tenantId, dim), () => table.delete(w));
        removed += res.numDeletedRows;
      }
    }
    const parents = await this.parentTable(tenantId, false);
    if (parents) {
      for (const w of where) {
        const res = await this.serial(parentTableName(tenantId), () => parents.delete(w));
        removed += res.numDeletedRows;
      }
    }
    return removed;
  }

  /** The tenant's parent-record table; created when `create`, else undefined while it does not exist. */
  private async parentTable(tenantId: string, create: boolean): Promise<lancedb.Table | undefined> {
    const name = parentTableName(tenantId);
    const known = this.parentTables.get(name);
    if (known) return known;
    const db = await this.conn();
    if (!create && !(await exists(db, name))) return undefined;
    const t = this.serial(name, async () =>
      (await exists(db, name)) ? db.openTable(name) : db.createEmptyTable(name, PARENT_SCHEMA, { existOk: true }),
    );
    this.parentTables.set(name, t);
    t.catch(() => this.parentTables.delete(name));
    return t;
  }

  async upsertParents(tenantId: string, parents: ParentChunk[]): Promise<UpsertResult> {
    checkTenant(tenantId);
    const errors: UpsertResult['errors'] = [];
    const byId = new Map<string, Record<string, unknown>>();
    for (const doc of parents) {
      const d = doc as Record<string, unknown>;
      const rawId = typeof d?.id === 'string' ? d.id : String(d?.id);
      try {
        const id = checkId('chunk id', d.id);
        checkId('kb_id', d.kb_id);
        checkId('doc_id', d.doc_id);
        if (Object.keys(d).some(isVectorField)) throw new DocStoreError(`parent record ${id} carries a vector`, false);
        const available = d.available_int;
        byId.delete(id);
        byId.set(id, {
          id,
          doc_id: d.doc_id,
          kb_id: d.kb_id,
          available_int: typeof available === 'number' && Number.isInteger(available) ? available : 0,
          doc_json: JSON.stringify(d),
        });
      } catch (err) {
        const e = wrap('upsertParents', err);
        errors.push({ id: rawId, reason: e.message, retryable: e.retryable });
      }
    }
    if (byId.size === 0) return { written: 0, errors };
    const name = parentTableName(tenantId);
    try {
      const table = (await this.parentTable(tenantId, true))!;
      const data = lancedb.makeArrowTable([...byId.values()], { schema: PARENT_SCHEMA });
      await this.serial(name, () => table.mergeInsert('id').whenMatchedUpdateAll().whenNotMatchedInsertAll().execute(data));
      return { written: byId.size, errors };
    } catch (err) {
      const e = wrap(`upsert into ${name}`, err);
      for (const id of byId.keys()) errors.push({ id, reason: e.message, retryable: e.retryable });
      return { written: 0, errors };
    }
  }

  async deleteByDoc(tenantId: string, kbId: string, docId: string): Promise<number> {
    checkTenant(tenantId);
    const where = and(eq('kb_id', 'kb_id', kbId), eq('doc_id', 'doc_id', docId));
    try {
      return await this.deleteWhere(tenantId, [where]);
    } catch (err) {
      throw wrap('deleteByDoc', err);
    }
  }

  async deleteByIds(tenantId: string, kbId: string, ids: string[]): Promise<number> {
    checkTenant(tenantId);
    if (ids.length === 0) return 0;
    const kb = eq('kb_id', 'kb_id', kbId);
    const where = chunks([...new Set(ids)], ID_CHUNK).map((part) => and(kb, inList('id', 'chunk id', part)));
    try {
      return await this.deleteWhere(tenantId, where);
    } catch (err) {
      throw wrap('deleteByIds', err);
    }
  }

  async refresh(tenantId: string): Promise<void> {
    checkTenant(tenantId);
    const prefix = tablePrefix(tenantId);
    // New rows are searchable without an index update (LanceDB scans unindexed rows), so the
    // rewrite that folds them into the indexes and compacts the fragments of many small writes is
    // batched; this process is the only writer, so its own counts say when one is due.
    const due = (name: string) => {
      const since = this.sinceOptimize.get(name);
      return !!since && (since.writes >= (this.opts.compactAfterWrites ?? 64) || since.rows >= (this.opts.optimizeAfterRows ?? 20_000));
    };
    try {
      for (const name of [...this.sinceOptimize.keys()]) {
        if (!name.startsWith(prefix) || !/^\d+$/.test(name.slice(prefix.length))) continue;
        if (this.indexesChecked.has(name) && !due(name)) continue;
        await this.serial(name, async () => {
          const table = await this.table(name);
          if (!this.indexesChecked.has(name)) {
            const created = await this.ensureIndexes(table);
            this.indexesChecked.add(name);
            if (created) {
              this.sinceOptimize.set(name, { writes: 0, rows: 0 });
              return;
            }
          }
          if (!due(name)) return;
          await this.optimizeIfWritten(name);
        });
      }
    } catch (err) {
      throw wrap('refresh', err);
    }
  }

  async count(tenantId: string, filter: { kb_id?: string; doc_id?: string } = {}): Promise<number> {
    checkTenant(tenantId);
    const where = and(
      filter.kb_id !== undefined ? eq('kb_id', 'kb_id', filter.kb_id) : undefined,
      filter.doc_id !== undefined ? eq('doc_id', 'doc_id', filter.doc_id) : undefined,
    );
    try {
      let n = 0;
      for (const { table } of await this.tenantTables(tenantId)) n += await table.countRows(where || undefined);
      const parents = await this.parentTable(tenantId, false);
      if (parents) n += await parents.countRows(where || undefined);
      return n;
    } catch (err) {
      throw wrap('count', err);
    }
  }

  async get(tenantId: string, ids: string[]): Promise<StoredChunk[]> {
    checkTenant(tenantId);
    if (ids.length === 0) return [];
    const wanted = [...new Set(ids)];
    const found = new Map<string, StoredChunk>();
    try {
      for (const { dim, table } of await this.tenantTables(tenantId)) {
        const field = vectorFieldOf(dim);
        for (const part of chunks(wanted, ID_CHUNK)) {
          const rows = await table.query().where(inList('id', 'chunk id', part)).select(['id', 'doc_json', field]).toArray();
          for (const r of rows as Record<string, unknown>[]) {
            const doc = JSON.parse(r.doc_json as string) as Record<string, unknown>;
            doc[field] = numbers(r[field]);
            found.set(r.id as string, doc as StoredChunk);
          }
        }
      }
      // parent records, fetched by their children's mom_id: as written, without a vector
      const rest = wanted.filter((id) => !found.has(id));
      const parents = rest.length ? await this.parentTable(tenantId, false) : undefined;
      if (parents) {
        for (const part of chunks(rest, ID_CHUNK)) {
          const rows = await parents.query().where(inList('id', 'chunk id', part)).select(['id', 'doc_json']).toArray();
          for (const r of rows as Record<string, unknown>[]) found.set(r.id as string, JSON.parse(r.doc_json as string) as StoredChunk);
        }
      }
    } catch (err) {
      throw wrap('get', err);
    }
    return wanted.flatMap((id) => {
      const d = found.get(id);
      return d ? [d] : [];
    });
  }

  async search(req: SearchRequest): Promise<SearchHit[]> {
    checkTenant(req.tenantId);
    const { topK, weight: w } = searchOptions(req);
    if (req.kbIds?.length === 0 || req.docIds?.length === 0) return [];
    const filter = and(
      'available_int <> 0',
      req.kbIds ? inList('kb_id', 'kb_id', req.kbIds) : undefined,
      req.docIds ? inList('doc_id', 'doc_id', req.docIds) : undefined,
    );
    if ((req.mode === 'vector' || req.mode === 'hybrid') && (!req.vector || req.vector.length === 0)) {
      throw new DocStoreError(`${req.mode} search needs a query vector`, false);
    }
    const text = req.mode === 'vector' ? undefined : ragflowQuery(req.query ?? '');
    if (req.mode === 'fulltext' && !text) return [];
    try {
      if (req.mode === 'fulltext') return await this.fulltext(req.tenantId, text!, filter, topK);
      const vector = req.vector!;
      const table = await this.tableIfExists(tableName(req.tenantId, vector.length));
      if (!table) return [];
      if (req.mode === 'vector') return await this.knn(table, vector, filter, topK);
      return await this.hybrid(table, text, vector, filter, topK, w);
    } catch (err) {
      throw wrap(`${req.mode} search`, err);
    }
  }

  private async tableIfExists(name: string): Promise<lancedb.Table | undefined> {
    return (await exists(await this.conn(), name)) ? this.committedTable(name) : undefined;
  }

  /** The listed table `name`, or undefined while another process is still creating it. */
  private async committedTable(name: string): Promise<lancedb.Table | undefined> {
    try {
      return await this.table(name);
    } catch (err) {
      if (isUncommittedTable(err)) return undefined;
      throw err;
    }
  }

  private ftsQuery(text: FulltextQuery): lancedb.BooleanQuery {
    return lanceFtsQuery(text);
  }

  private async fulltext(tenantId: string, text: FulltextQuery, filter: string, topK: number): Promise<SearchHit[]> {
    const raw: { r: Record<string, unknown>; s: number }[] = [];
    for (const { table } of await this.tenantTables(tenantId)) {
      const rows = await table.search(this.ftsQuery(text)).where(filter).select([...HIT_COLUMNS, '_score']).limit(topK).toArray();
      for (const r of rows as Record<string, unknown>[]) raw.push({ r, s: r._score as number });
    }
    return fulltextHits(raw.map(({ r, s }) => ({ doc: r, score: s })), topK);
  }

  private async knn(table: lancedb.Table, vector: number[], filter: string, topK: number): Promise<SearchHit[]> {
    const field = vectorFieldOf(vector.length);
    const rows = await table
      .vectorSearch(vector)
      .column(field)
      .distanceType('cosine')
      .where(filter)
      .select([...HIT_COLUMNS, '_distance'])
      .limit(topK)
      .toArray();
    return vectorHits((rows as Record<string, unknown>[]).map((r) => ({ doc: r, cosine: 1 - (r._distance as number) })), topK);
  }

  /**
   * RAGFlow's retrieval over the union of both sides' top 3K: each candidate scored as RAGFlow's
   * rerank does, (1 - w) x the query keywords' token similarity to the chunk + w x cosine.
   */
  private async hybrid(table: lancedb.Table, text: FulltextQuery | undefined, vector: number[], filter: string, topK: number, w: number): Promise<SearchHit[]> {
    const field = vectorFieldOf(vector.length);
    const wide = topK * 3;
    const vecSide = (await table.vectorSearch(vector).column(field).distanceType('cosine').where(filter).select(['id', '_distance']).limit(wide).toArray()) as Record<string, unknown>[];
    const textSide = text
      ? ((await table.search(this.ftsQuery(text)).where(filter).select(['id', '_score']).limit(wide).toArray()) as Record<string, unknown>[])
      : [];
    const ids = [...new Set([...vecSide, ...textSide].map((r) => r.id as string))];
    if (ids.length === 0) return [];

    const rows: Record<string, unknown>[] = [];
    for (const part of chunks(ids, ID_CHUNK)) {
      const where = and(filter, inList('id', 'chunk id', part));
      // doc_json holds the token fields RAGFlow's rerank reads (content, title, keywords, questions)
      rows.push(...((await table.query().where(where).select([...HIT_COLUMNS, 'doc_json', field]).toArray()) as Record<string, unknown>[]));
    }
    return hybridHits(
      rows.map((r) => ({ doc: r, tokenFields: JSON.parse(r.doc_json as string) as Record<string, unknown>, vector: numbers(r[field]) })),
      text,
      vector,
      w,
      topK,
    );
  }

  /** Rows of the tenant's chunk tables in `kbIds` (optionally matching `query`), as written. */
  private async tagDocs(tenantId: string, kbIds: string[], query?: ParagraphQuery): Promise<Record<string, unknown>[]> {
    checkTenant(tenantId);
    if (kbIds.length === 0) return [];
    const filter = inList('kb_id', 'kb_id', kbIds);
    const docs: Record<string, unknown>[] = [];
    for (const { table } of await this.tenantTables(tenantId)) {
      const rows = (query
        ? await table.search(lanceFtsQuery({ queryString: query.queryString, minimumShouldMatch: 0, keywords: [], terms: query.terms })).where(filter).select(['doc_json']).limit(TAG_SCAN_LIMIT).toArray()
        : await table.query().where(filter).select(['doc_json']).limit(TAG_SCAN_LIMIT).toArray()) as Record<string, unknown>[];
      for (const r of rows) docs.push(JSON.parse(r.doc_json as string) as Record<string, unknown>);
    }
    return docs;
  }

  async allTagCounts(tenantId: string, kbIds: string[]): Promise<TagCount[]> {
    try {
      return countTags(await this.tagDocs(tenantId, kbIds));
    } catch (err) {
      throw wrap('tag aggregation', err);
    }
  }

  async matchingTagCounts(tenantId: string, kbIds: string[], match: TagQuery): Promise<TagCount[]> {
    const query = paragraphQuery(match);
    if (query.terms.length === 0) return [];
    try {
      const docs = await this.tagDocs(tenantId, kbIds, query);
      // Elasticsearch's minimum_should_match, which LanceDB's boolean query has no counterpart for
      return countTags(docs.filter((d) => matchedClauses(d, query.clauses) >= Math.max(1, query.minimumShouldMatch)));
    } catch (err) {
      throw wrap('tag aggregation', err);
    }
  }

  /** The metadata table (not a chunk table: none of their columns or migrations), created when `create`. */
  private async metaTable(name: string, create: boolean): Promise<lancedb.Table | undefined> {
    const cached = this.tables.get(name);
    if (cached) return cached;
    const db = await this.conn();
    if (!(await exists(db, name))) {
      if (!create) return undefined;
      const t = db.createEmptyTable(name, DOC_META_SCHEMA, { existOk: true });
      this.tables.set(name, t);
      t.catch(() => this.tables.delete(name));
      return t;
    }
    try {
      const t = await db.openTable(name);
      this.tables.set(name, Promise.resolve(t));
      return t;
    } catch (err) {
      if (isUncommittedTable(err)) return undefined;
      throw err;
    }
  }

  async getDocMetadata(tenantId: string, docId: string): Promise<DocMetadataFields | undefined> {
    checkTenant(tenantId);
    checkId('doc_id', docId);
    try {
      const table = await this.metaTable(docMetaIndexName(tenantId), false);
      if (!table) return undefined;
      const [row] = (await table.query().where(eq('id', 'doc_id', docId)).select(['meta_json']).limit(1).toArray()) as Record<string, unknown>[];
      return row ? (JSON.parse(row.meta_json as string) as DocMetadataFields) : undefined;
    } catch (err) {
      throw wrap('get document metadata', err);
    }
  }

  /**
   * The embedded store's `ragflow_doc_meta_<tenant>` table (id, kb_id, meta_fields as JSON), merged
   * as RAGFlow does. One write at a time per table in this process (the store has one writer process).
   */
  async mergeDocMetadata(tenantId: string, kbId: string, docId: string, meta: DocMetadataFields): Promise<DocMetadataFields> {
    checkTenant(tenantId);
    checkId('kb_id', kbId);
    checkId('doc_id', docId);
    const name = docMetaIndexName(tenantId);
    try {
      return await this.serial(name, async () => {
        const table = (await this.metaTable(name, true))!;
        const [row] = (await table.query().where(eq('id', 'doc_id', docId)).select(['meta_json']).limit(1).toArray()) as Record<string, unknown>[];
        const merged = mergedDocMetadata(row ? (JSON.parse(row.meta_json as string) as DocMetadataFields) : undefined, meta);
        await table
          .mergeInsert('id')
          .whenMatchedUpdateAll()
          .whenNotMatchedInsertAll()
          .execute(lancedb.makeArrowTable([{ id: docId, kb_id: kbId, meta_json: JSON.stringify(merged) }], { schema: DOC_META_SCHEMA }));
        return merged;
      });
    } catch (err) {
      throw wrap('merge document metadata', err);
    }
  }

  cacheBytes(): number {
    return Number(this.session.sizeBytes());
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.idleTimers.values()) clearTimeout(t);
    this.idleTimers.clear();
    await Promise.allSettled([...this.queues.values()]);
    for (const t of this.tables.values()) {
      try {
        (await t).close();
      } catch {
        // a table that failed to open has nothing to close
      }
    }
    this.tables.clear();
    try {
      (await this.db).close();
    } catch {
      // connect failed: nothing to close
    }
  }
}

/**
 * The embedded doc store: LanceDB tables on local disk, one per tenant and vector dimension
 * (`ragflow_<tenant>__<dim>`), with full-text, vector and hybrid search. Safe for one writer
 * process and any number of reader processes on the same directory.
 */
export function createLanceDocStore(opts: LanceDocStoreOptions): LanceDocStore {
  return new LanceStore(opts);
}
