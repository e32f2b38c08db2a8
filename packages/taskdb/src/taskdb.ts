import { createConnection, createPool, type Pool, type PoolConnection, type PoolOptions, type ResultSetHeader, type RowDataPacket } from 'mysql2/promise';
import { TaskDbError, TaskDbNotFoundError, TRANSACTION_RETRY_CODES, toTaskDbError } from './errors.js';
import { newId, planTasks, taskDigest, type PlanInfo, type TaskPlan } from './plan.js';
import { comparePython } from './python.js';
import { appendProgressMsg, clockTime, formatProgressLine, nextProgress } from './progress.js';
import { createDatabaseSql, createTableSql, indexName, quoteIdent, TABLES } from './schema.js';
import {
  RunStatus,
  type ApplyProgressResult,
  type ChunkingConfig,
  type CompleteTotals,
  type DocumentProgress,
  type DocumentRow,
  type KnowledgebaseRow,
  type ProgressUpdate,
  type QueuedTask,
  type ReceiveOptions,
  type ReceiveResult,
  type RecordBatchOptions,
  type SyncOptions,
  type TaskDbOptions,
  type TaskRecord,
  type TaskRow,
  type TaskSummary,
} from './types.js';

type Queryable = Pool | PoolConnection;
type Row = RowDataPacket & Record<string, unknown>;

/** Server clock, so every stored time follows the MySQL session time zone. */
const NOW_MS = 'CAST(ROUND(UNIX_TIMESTAMP(NOW(3)) * 1000) AS SIGNED)';
const TOUCH = `update_time = ${NOW_MS}, update_date = NOW()`;
/** Seconds since a DATETIME column, computed by the server. */
const secondsSince = (column: string) => `TIMESTAMPDIFF(MICROSECOND, ${column}, NOW(6)) / 1000000`;
const NOT_CANCELLED = `(run IS NULL OR run <> '${RunStatus.CANCEL}')`;

/** RAGFlow's document/knowledgebase parser_config column default. */
export const DEFAULT_PARSER_CONFIG = Object.freeze({ pages: [[1, 1000000]], table_context_size: 0, image_context_size: 0 });
/** Task types whose progress RAGFlow freezes on already-parsed documents (PIPELINE_SPECIAL_PROGRESS_FREEZE_TASK_TYPES). */
const FREEZE_TASK_TYPES = new Set(['raptor', 'graphrag', 'mindmap', 'wiki', 'artifact', 'skill']);
const TEXT_MAX_BYTES = 65_535;
const IN_CHUNK = 500;

export const ABANDON_MESSAGE = (attempts: number) => `ERROR: Task is abandoned after ${attempts} times attempts.`;
export const RECEIVED_MESSAGE = 'Task has been received.';
export const QUEUED_MESSAGE = 'Task is queued...';

interface ResolvedOptions {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
  ssl: object | undefined;
  connectionLimit: number;
  transactionAttempts: number;
}

export function resolveTaskDbOptions(opts: TaskDbOptions = {}): ResolvedOptions {
  let fromUrl: Partial<ResolvedOptions> = {};
  if (opts.url) {
    let u: URL;
    try {
      u = new URL(opts.url);
    } catch {
      // The URL itself may hold the password: never echo it.
      throw new TaskDbError('taskdb: invalid MySQL url', { retryable: false, code: 'BAD_URL' });
    }
    if (u.protocol !== 'mysql:' && u.protocol !== 'mariadb:') {
      throw new TaskDbError(`taskdb: unsupported url scheme ${u.protocol}`, { retryable: false, code: 'BAD_URL' });
    }
    fromUrl = {
      host: u.hostname || undefined,
      port: u.port ? Number(u.port) : undefined,
      user: u.username ? decodeURIComponent(u.username) : undefined,
      password: u.password ? decodeURIComponent(u.password) : undefined,
      database: u.pathname.length > 1 ? decodeURIComponent(u.pathname.slice(1)) : undefined,
    };
  }
  return {
    host: opts.host ?? fromUrl.host ?? '127.0.0.1',
    port: opts.port ?? fromUrl.port ?? 3306,
    user: opts.user ?? fromUrl.user ?? 'root',
    password: opts.password ?? fromUrl.password ?? '',
    database: opts.database ?? fromUrl.database ?? 'rag_flow',
    ssl: opts.ssl,
    connectionLimit: opts.connectionLimit ?? 10,
    transactionAttempts: Math.max(1, opts.transactionAttempts ?? 3),
  };
}

function parseJsonObject(text: unknown): Record<string, unknown> {
  if (text && typeof text === 'object' && !Array.isArray(text)) return text as Record<string, unknown>;
  if (typeof text !== 'string' || !text) return {};
  try {
    const v: unknown = JSON.parse(text);
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** Keeps the tail of a TEXT value within MySQL's 64 KiB (trim_header_by_lines cannot cut a single huge line). */
function fitText(text: string, maxBytes = TEXT_MAX_BYTES): string {
  if (text.length * 3 <= maxBytes || Buffer.byteLength(text) <= maxBytes) return text;
  const buf = Buffer.from(text);
  let start = buf.length - maxBytes;
  while (start < buf.length && (buf[start]! & 0xc0) === 0x80) start++; // do not start inside a UTF-8 sequence
  return buf.subarray(start).toString();
}

function chunks<T>(items: readonly T[], size = IN_CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

const num = (v: unknown, fallback = 0): number => (v === null || v === undefined ? fallback : Number(v));
const str = (v: unknown): string => (v === null || v === undefined ? '' : String(v));
const strOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

function toTaskRecord(r: Row): TaskRecord {
  return {
    id: str(r['id']),
    doc_id: str(r['doc_id']),
    from_page: num(r['from_page']),
    to_page: num(r['to_page']),
    task_type: str(r['task_type']),
    priority: num(r['priority']),
    begin_at: strOrNull(r['begin_at']),
    process_duration: num(r['process_duration']),
    progress: num(r['progress']),
    progress_msg: str(r['progress_msg']),
    retry_count: num(r['retry_count']),
    digest: str(r['digest']),
    chunk_ids: str(r['chunk_ids']),
    create_time: numOrNull(r['create_time']),
    create_date: strOrNull(r['create_date']),
    update_time: numOrNull(r['update_time']),
    update_date: strOrNull(r['update_date']),
  };
}

function toTaskSummary(r: Row): TaskSummary {
  const { chunk_ids: _ids, ...rest } = toTaskRecord(r);
  return { ...rest, kb_id: strOrNull(r['kb_id']), doc_name: strOrNull(r['doc_name']) };
}

function toDocumentRow(r: Row): DocumentRow {
  return {
    id: str(r['id']),
    kb_id: str(r['kb_id']),
    parser_id: str(r['parser_id']),
    parser_config: parseJsonObject(r['parser_config']),
    source_type: str(r['source_type']),
    type: str(r['type']),
    created_by: str(r['created_by']),
    name: strOrNull(r['name']),
    location: strOrNull(r['location']),
    size: num(r['size']),
    token_num: num(r['token_num']),
    chunk_num: num(r['chunk_num']),
    progress: num(r['progress']),
    progress_msg: str(r['progress_msg']),
    process_begin_at: strOrNull(r['process_begin_at']),
    process_duration: num(r['process_duration']),
    suffix: str(r['suffix']),
    content_hash: strOrNull(r['content_hash']),
    run: strOrNull(r['run']),
    status: strOrNull(r['status']),
    create_time: numOrNull(r['create_time']),
    create_date: strOrNull(r['create_date']),
    update_time: numOrNull(r['update_time']),
    update_date: strOrNull(r['update_date']),
  };
}

function toKnowledgebaseRow(r: Row): KnowledgebaseRow {
  return {
    id: str(r['id']),
    tenant_id: str(r['tenant_id']),
    name: str(r['name']),
    language: strOrNull(r['language']),
    embd_id: str(r['embd_id']),
    tenant_embd_id: numOrNull(r['tenant_embd_id']),
    permission: str(r['permission']),
    created_by: str(r['created_by']),
    doc_num: num(r['doc_num']),
    token_num: num(r['token_num']),
    chunk_num: num(r['chunk_num']),
    parser_id: str(r['parser_id']),
    parser_config: parseJsonObject(r['parser_config']),
    pagerank: num(r['pagerank']),
    similarity_threshold: num(r['similarity_threshold']),
    vector_similarity_weight: num(r['vector_similarity_weight']),
    status: strOrNull(r['status']),
    create_time: numOrNull(r['create_time']),
    create_date: strOrNull(r['create_date']),
    update_time: numOrNull(r['update_time']),
    update_date: strOrNull(r['update_date']),
  };
}

const TASK_SUMMARY_SELECT = `SELECT t.id, t.doc_id, t.from_page, t.to_page, t.task_type, t.priority, t.begin_at,
  t.process_duration, t.progress, t.progress_msg, t.retry_count, t.digest, t.create_time, t.create_date,
  t.update_time, t.update_date, d.kb_id, d.name AS doc_name
  FROM task t LEFT JOIN document d ON d.id = t.doc_id`;

export interface TaskStateFilter {
  state?: 'running' | 'done' | 'failed' | 'queued';
  kbId?: string;
  docId?: string;
  /** default 100 */
  limit?: number;
}

/** The MySQL layer: RAGFlow's schema and progress semantics plus Ragline's exactly-once bookkeeping. */
export class TaskDb {
  readonly options: Readonly<Omit<ResolvedOptions, 'password'>>;
  private readonly pool: Pool;
  private readonly password: string;
  private readonly attempts: number;

  constructor(opts: TaskDbOptions = {}) {
    const o = resolveTaskDbOptions(opts);
    const { password, ...visible } = o;
    this.options = Object.freeze(visible);
    this.password = password;
    this.attempts = o.transactionAttempts;
    this.pool = createPool(this.connectionOptions(true));
  }

  private connectionOptions(withDatabase: boolean): PoolOptions {
    const o = this.options;
    return {
      host: o.host,
      port: o.port,
      user: o.user,
      password: this.password,
      ...(withDatabase ? { database: o.database } : {}),
      ...(o.ssl ? { ssl: o.ssl as PoolOptions['ssl'] } : {}),
      connectionLimit: o.connectionLimit,
      waitForConnections: true,
      charset: 'utf8mb4',
      // DATETIME values stay "YYYY-MM-DD HH:MM:SS" strings in the server's time zone, as RAGFlow stores them.
      dateStrings: true,
      decimalNumbers: true,
      supportBigNumbers: true,
      enableKeepAlive: true,
    };
  }

  private wrap(err: unknown, op: string): TaskDbError {
    return toTaskDbError(err, `taskdb.${op}`, this.password ? [this.password, encodeURIComponent(this.password)] : []);
  }

  private async run<T>(op: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw this.wrap(err, op);
    }
  }

  private async rows(db: Queryable, sql: string, params: unknown[] = []): Promise<Row[]> {
    const [rows] = await db.query<Row[]>(sql, params);
    return rows;
  }

  private async exec(db: Queryable, sql: string, params: unknown[] = []): Promise<ResultSetHeader> {
    const [res] = await db.query<ResultSetHeader>(sql, params);
    return res;
  }

  /** Runs `fn` in a transaction; deadlocks and lock-wait timeouts re-run it a few times. */
  private async tx<T>(op: string, fn: (conn: PoolConnection) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      let conn: PoolConnection | undefined;
      try {
        conn = await this.pool.getConnection();
        await conn.beginTransaction();
        const result = await fn(conn);
        await conn.commit();
        return result;
      } catch (err) {
        if (conn) await conn.rollback().catch(() => undefined);
        const code = (err as { code?: string } | null)?.code;
        if (code && TRANSACTION_RETRY_CODES.has(code) && attempt < this.attempts) {
          await new Promise((r) => setTimeout(r, 10 * attempt + Math.random() * 40));
          continue;
        }
        throw this.wrap(err, op);
      } finally {
        conn?.release();
      }
    }
  }

  /** Runs `fn` on one connection holding a server-wide named lock (serialises find-or-create). */
  private async withNamedLock<T>(op: string, name: string, fn: (conn: PoolConnection) => Promise<T>): Promise<T> {
    return this.run(op, async () => {
      const conn = await this.pool.getConnection();
      const lockName = `ragline:${this.options.database}:${name}`.slice(0, 64);
      try {
        const [got] = await this.rows(conn, 'SELECT GET_LOCK(?, 30) AS got', [lockName]);
        if (Number(got?.['got']) !== 1) throw new TaskDbError(`taskdb.${op}: lock ${name} busy`, { retryable: true, code: 'LOCK_BUSY' });
        try {
          return await fn(conn);
        } finally {
          await this.rows(conn, 'SELECT RELEASE_LOCK(?)', [lockName]).catch(() => undefined);
        }
      } finally {
        conn.release();
      }
    });
  }

  private async serverNow(db: Queryable): Promise<{ ms: number; date: string }> {
    const [r] = await this.rows(db, `SELECT ${NOW_MS} AS ms, DATE_FORMAT(NOW(), '%Y-%m-%d %H:%i:%s') AS date`);
    return { ms: num(r?.['ms']), date: str(r?.['date']) };
  }

  // ---------------------------------------------------------------- schema

  /**
   * Creates the database if missing, RAGFlow's tables (task, document, knowledgebase, tenant,
   * file, file2document) and Ragline's; adds columns and indexes missing from existing tables.
   * Idempotent; never drops or alters existing columns.
   */
  async migrate(): Promise<void> {
    await this.run('migrate', async () => {
      const admin = await createConnection(this.connectionOptions(false));
      try {
        await admin.query(createDatabaseSql(this.options.database));
      } finally {
        await admin.end();
      }
    });
    await this.withNamedLock('migrate', 'migrate', async (conn) => {
      for (const t of TABLES) await this.exec(conn, createTableSql(t));
      const existing = await this.rows(conn, 'SELECT TABLE_NAME AS t, COLUMN_NAME AS c FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE()');
      const have = new Set(existing.map((r) => `${str(r['t'])}.${str(r['c'])}`));
      const indexed = await this.rows(
        conn,
        'SELECT TABLE_NAME AS t, COLUMN_NAME AS c FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND SEQ_IN_INDEX = 1',
      );
      const haveIndex = new Set(indexed.map((r) => `${str(r['t'])}.${str(r['c'])}`));
      for (const t of TABLES) {
        for (const c of t.columns) {
          if (!have.has(`${t.name}.${c.name}`)) {
            await this.exec(conn, `ALTER TABLE ${quoteIdent(t.name)} ADD COLUMN ${quoteIdent(c.name)} ${c.ddl}`);
          }
          if (c.index && !haveIndex.has(`${t.name}.${c.name}`)) {
            await this.exec(conn, `ALTER TABLE ${quoteIdent(t.name)} ADD INDEX ${quoteIdent(indexName(t.name, c.name))} (${quoteIdent(c.name)})`);
          }
        }
      }
    });
  }

  // ---------------------------------------------------------------- consumer side

  /**
   * RAGFlow's `TaskService.get_task` on delivery (reference/ragflow.md §2.4), in one transaction
   * holding the task row lock. Counts the delivery in retry_count; abandons the task (and fails
   * its document) once it was delivered `maxAttempts` times.
   */
  async receiveTask(taskId: string, opts: ReceiveOptions = {}): Promise<ReceiveResult> {
    const maxAttempts = opts.maxAttempts ?? 3;
    return this.tx('receiveTask', async (conn) => {
      const locked = await this.rows(conn, 'SELECT id FROM task WHERE id = ? FOR UPDATE', [taskId]);
      if (locked.length === 0) return { status: 'unknown' };
      const [r] = await this.rows(
        conn,
        `SELECT t.id AS task_id, t.doc_id, t.from_page, t.to_page, t.task_type, t.priority, t.retry_count, t.progress,
            t.progress_msg, t.digest, d.kb_id, d.parser_id, d.parser_config, d.name AS doc_name, d.type AS doc_type,
            d.location AS doc_location, d.size, d.run, k.tenant_id, k.language, k.embd_id, k.tenant_embd_id, k.pagerank,
            k.parser_config AS kb_parser_config, tn.img2txt_id, tn.asr_id, tn.llm_id, tn.embd_id AS tenant_default_embd_id,
            f.source_type AS file_source_type, f.parent_id AS file_parent_id, f.location AS file_location
         FROM task t
         JOIN document d ON d.id = t.doc_id
         JOIN knowledgebase k ON k.id = d.kb_id
         JOIN tenant tn ON tn.id = k.tenant_id
         LEFT JOIN file2document f2d ON f2d.document_id = d.id
         LEFT JOIN file f ON f.id = f2d.file_id
         WHERE t.id = ? LIMIT 1`,
        [taskId],
      );
      if (!r) return { status: 'unknown', orphan: await this.missingParent(conn, taskId) };
      const progress = num(r['progress']);
      if (progress >= 1) return { status: 'done' };
      if (r['run'] === RunStatus.CANCEL) return { status: 'cancelled' };
      if (progress === -1 && !opts.retryFailed) return { status: 'failed' };

      const retryCount = num(r['retry_count']);
      if (retryCount >= maxAttempts) {
        const message = ABANDON_MESSAGE(maxAttempts);
        await this.exec(conn, `UPDATE task SET progress_msg = ?, progress = -1, retry_count = retry_count + 1, ${TOUCH} WHERE id = ?`, [
          fitText(appendProgressMsg(str(r['progress_msg']), message)),
          taskId,
        ]);
        await this.exec(conn, `UPDATE document SET progress = -1, run = ?, ${TOUCH} WHERE id = ?`, [RunStatus.FAIL, r['doc_id']]);
        return { status: 'abandoned', message };
      }

      await this.exec(
        conn,
        `UPDATE task SET progress_msg = ?, progress = ?, retry_count = retry_count + 1, begin_at = COALESCE(begin_at, NOW()), ${TOUCH} WHERE id = ?`,
        [fitText(appendProgressMsg(str(r['progress_msg']), `${clockTime()} ${RECEIVED_MESSAGE}`)), Math.random() / 10, taskId],
      );
      const [after] = await this.rows(conn, 'SELECT begin_at FROM task WHERE id = ?', [taskId]);

      const kbParserConfig = parseJsonObject(r['kb_parser_config']);
      // RAGFlow's get_storage_address: files uploaded through the file manager (source_type '')
      // live in their folder's bucket; everything else in the knowledge base's bucket.
      const localFile = r['file_parent_id'] !== null && r['file_parent_id'] !== undefined && !r['file_source_type'];
      const task: TaskRow = {
        task_id: str(r['task_id']),
        doc_id: str(r['doc_id']),
        kb_id: str(r['kb_id']),
        tenant_id: str(r['tenant_id']),
        task_type: str(r['task_type']),
        from_page: num(r['from_page']),
        to_page: num(r['to_page']),
        priority: num(r['priority']),
        retry_count: retryCount + 1,
        parser_id: str(r['parser_id']),
        parser_config: { ...kbParserConfig, ...parseJsonObject(r['parser_config']) },
        kb_parser_config: kbParserConfig,
        doc_name: str(r['doc_name']),
        doc_type: str(r['doc_type']),
        bucket: localFile ? str(r['file_parent_id']) : str(r['kb_id']),
        location: localFile ? str(r['file_location']) : str(r['doc_location']),
        size: num(r['size']),
        language: str(r['language']),
        embd_id: str(r['embd_id']) || str(r['tenant_default_embd_id']),
        tenant_embd_id: numOrNull(r['tenant_embd_id']),
        pagerank: num(r['pagerank']),
        img2txt_id: str(r['img2txt_id']),
        asr_id: str(r['asr_id']),
        llm_id: str(r['llm_id']),
        digest: str(r['digest']),
        begin_at: strOrNull(after?.['begin_at']),
      };
      return { status: 'ok', task };
    });
  }

  /** Which row of a task's document -> knowledge base -> tenant chain is missing (the first one). */
  private async missingParent(conn: Queryable, taskId: string): Promise<{ missing: 'document' | 'knowledgebase' | 'tenant'; id: string }> {
    const [r] = await this.rows(
      conn,
      `SELECT t.doc_id, d.id AS d_id, d.kb_id, k.id AS k_id, k.tenant_id, tn.id AS tn_id
         FROM task t
         LEFT JOIN document d ON d.id = t.doc_id
         LEFT JOIN knowledgebase k ON k.id = d.kb_id
         LEFT JOIN tenant tn ON tn.id = k.tenant_id
        WHERE t.id = ?`,
      [taskId],
    );
    if (!r || r['d_id'] == null) return { missing: 'document', id: str(r?.['doc_id']) };
    if (r['k_id'] == null) return { missing: 'knowledgebase', id: str(r['kb_id']) };
    return { missing: 'tenant', id: str(r['tenant_id']) };
  }

  /**
   * RAGFlow's `set_progress` + `TaskService.update_progress` for a batch of events in one
   * transaction: one read and one write per task however many events it has, so MySQL load
   * follows the number of tasks, not events. Unknown task ids are skipped and reported.
   */
  async applyProgress(updates: readonly ProgressUpdate[]): Promise<ApplyProgressResult> {
    const byTask = new Map<string, ProgressUpdate[]>();
    for (const u of updates) {
      const list = byTask.get(u.taskId);
      if (list) list.push(u);
      else byTask.set(u.taskId, [u]);
    }
    if (byTask.size === 0) return { unknown: [] };
    const ids = [...byTask.keys()].sort();
    return this.tx('applyProgress', async (conn) => {
      const found = new Map<string, Row>();
      for (const part of chunks(ids)) {
        // One locking read in id order: concurrent writers lock the same rows in the same order.
        for (const r of await this.rows(conn, 'SELECT id, doc_id, progress, progress_msg FROM task WHERE id IN (?) ORDER BY id FOR UPDATE', [part])) {
          found.set(str(r['id']), r);
        }
      }
      const failedDocs = new Map<string, string>();
      for (const id of ids) {
        const r = found.get(id);
        if (!r) continue;
        let msg = str(r['progress_msg']);
        let progress = num(r['progress']);
        let touched = false;
        let failed = false;
        for (const u of byTask.get(id)!) {
          const p = typeof u.progress === 'number' && Number.isFinite(u.progress) ? u.progress : null;
          const line = formatProgressLine(u.msg ?? '', { at: u.at, pageRange: u.pageRange, failed: p !== null && p < 0 });
          if (line) {
            msg = appendProgressMsg(msg, line);
            touched = true;
          }
          if (p !== null) {
            progress = nextProgress(progress, p);
            touched = true;
            if (p < 0) failed = true;
          }
        }
        if (!touched) continue;
        msg = fitText(msg);
        await this.exec(
          conn,
          `UPDATE task SET progress_msg = ?, progress = ?,
             process_duration = IF(begin_at IS NULL, process_duration, ${secondsSince('begin_at')}), ${TOUCH}
           WHERE id = ?`,
          [msg, progress, id],
        );
        if (failed) failedDocs.set(str(r['doc_id']), msg);
      }
      for (const docId of [...failedDocs.keys()].sort()) {
        await this.exec(conn, `UPDATE document SET progress = -1, run = ?, progress_msg = ?, ${TOUCH} WHERE id = ? AND ${NOT_CANCELLED}`, [
          RunStatus.FAIL,
          failedDocs.get(docId),
          docId,
        ]);
      }
      return { unknown: ids.filter((id) => !found.has(id)) };
    });
  }

  /** Fails a task (progress -1, `[ERROR]` line) and its document, as RAGFlow's set_progress(prog=-1). */
  async failTask(taskId: string, msg: string, pageRange?: { from: number; to: number } | null): Promise<boolean> {
    const res = await this.applyProgress([{ taskId, progress: -1, msg, pageRange }]);
    return res.unknown.length === 0;
  }

  /**
   * Records one indexed batch; a redelivered batch (same task and batch number) is ignored.
   * Returns true only when the batch is new.
   */
  async recordIndexedBatch(taskId: string, batchNo: number, chunkIds: readonly string[], tokens: number, opts: RecordBatchOptions = {}): Promise<boolean> {
    const ids = chunkIds.join(' ');
    return this.tx('recordIndexedBatch', async (conn) => {
      const res = await this.exec(
        conn,
        'INSERT IGNORE INTO ragline_task_batch (task_id, batch_no, chunk_ids, chunk_count, token_count) VALUES (?, ?, ?, ?, ?)',
        [taskId, batchNo, ids, chunkIds.length, Math.max(0, Math.round(tokens))],
      );
      if (res.affectedRows !== 1) return false;
      if ((opts.appendToTask ?? true) && ids) {
        await this.exec(conn, `UPDATE task SET chunk_ids = IF(chunk_ids IS NULL OR chunk_ids = '', ?, CONCAT(chunk_ids, ' ', ?)), ${TOUCH} WHERE id = ?`, [
          ids,
          ids,
          taskId,
        ]);
      }
      return true;
    });
  }

  /** How many distinct batches of a task are recorded (what completion waits for). */
  async indexedBatchCount(taskId: string): Promise<number> {
    return this.run('indexedBatchCount', async () => {
      const [r] = await this.rows(this.pool, 'SELECT COUNT(*) AS n FROM ragline_task_batch WHERE task_id = ?', [taskId]);
      return num(r?.['n']);
    });
  }

  /**
   * Marks a task done exactly once (whatever the number of concurrent or repeated calls):
   * progress 1.0 with a `Task done (X.XXs)` line, chunk_ids of all its batches in batch order,
   * process_duration, then RAGFlow's increment_chunk_num on the document and knowledge base.
   * Returns false for repeats, unknown tasks and tasks of cancelled documents.
   */
  async completeTask(taskId: string, totals: CompleteTotals): Promise<boolean> {
    return this.tx('completeTask', async (conn) => {
      const [t] = await this.rows(
        conn,
        `SELECT id, doc_id, from_page, to_page, progress_msg, IF(begin_at IS NULL, NULL, ${secondsSince('begin_at')}) AS elapsed
         FROM task WHERE id = ? FOR UPDATE`,
        [taskId],
      );
      if (!t) return false;
      const docId = str(t['doc_id']);
      const [doc] = await this.rows(conn, 'SELECT id, kb_id, run FROM document WHERE id = ?', [docId]);
      if (doc?.['run'] === RunStatus.CANCEL) return false;
      const chunkCount = Math.max(0, Math.round(totals.chunks));
      const tokenCount = Math.max(0, Math.round(totals.tokens));
      const ins = await this.exec(conn, 'INSERT IGNORE INTO ragline_task_completion (task_id, chunks, tokens) VALUES (?, ?, ?)', [
        taskId,
        chunkCount,
        tokenCount,
      ]);
      if (ins.affectedRows !== 1) return false;

      const batches = await this.rows(conn, 'SELECT chunk_ids FROM ragline_task_batch WHERE task_id = ? ORDER BY batch_no', [taskId]);
      const chunkIds = batches.map((b) => str(b['chunk_ids'])).filter(Boolean).join(' ');
      const seconds = totals.durationMs !== undefined ? totals.durationMs / 1000 : num(t['elapsed']);
      const line = formatProgressLine(totals.msg ?? `Task done (${seconds.toFixed(2)}s)`, {
        pageRange: { from: num(t['from_page']), to: num(t['to_page']) },
      });
      await this.exec(conn, `UPDATE task SET progress = 1, progress_msg = ?, chunk_ids = ?, process_duration = ?, ${TOUCH} WHERE id = ?`, [
        fitText(appendProgressMsg(str(t['progress_msg']), line)),
        chunkIds,
        seconds,
        taskId,
      ]);
      if (doc) {
        // RAGFlow's DocumentService.increment_chunk_num (duration 0 on the standard path).
        await this.exec(conn, `UPDATE document SET token_num = token_num + ?, chunk_num = chunk_num + ?, ${TOUCH} WHERE id = ?`, [
          tokenCount,
          chunkCount,
          docId,
        ]);
        await this.exec(conn, `UPDATE knowledgebase SET token_num = token_num + ?, chunk_num = chunk_num + ?, ${TOUCH} WHERE id = ?`, [
          tokenCount,
          chunkCount,
          doc['kb_id'],
        ]);
      }
      return true;
    });
  }

  /**
   * RAGFlow's `DocumentService._sync_progress` (reference/ragflow.md §2.6): document progress is
   * the mean of its tasks (failures count 0), done/failed once no task is in [0,1), messages are
   * the sorted task logs. Cancelled documents are skipped. Without ids: RAGFlow's unfinished docs.
   * Returns the number of documents written.
   */
  async syncDocuments(docIds?: readonly string[], opts: SyncOptions = {}): Promise<number> {
    return this.run('syncDocuments', async () => {
      let docs: Row[];
      if (docIds) {
        docs = [];
        for (const part of chunks([...new Set(docIds)])) {
          docs.push(...(await this.rows(this.pool, 'SELECT id, progress, run FROM document WHERE id IN (?)', [part])));
        }
      } else {
        docs = await this.rows(
          this.pool,
          `SELECT id, progress, run FROM document
           WHERE status = '1' AND type <> 'virtual' AND ${NOT_CANCELLED}
             AND ((progress < 1 AND progress > 0) OR id IN (SELECT doc_id FROM task WHERE progress >= 0 AND progress < 1))`,
        );
      }
      docs = docs.filter((d) => d['run'] !== RunStatus.CANCEL);
      let written = 0;
      // One short transaction per document: its tasks are read with locks and the document written
      // in the same transaction. A writer that failed a task meanwhile (the bridge, applyProgress)
      // otherwise had its run '4' overwritten with this pass's stale '1', and the document stayed
      // running for good. Per document, so no pass holds many task rows at once.
      for (const d of docs) written += await this.tx('syncDocuments', (conn) => this.syncPart(conn, [d], opts));
      return written;
    });
  }

  /** syncDocuments for some documents, inside the caller's transaction. */
  private async syncPart(conn: PoolConnection, part: readonly Row[], opts: SyncOptions): Promise<number> {
    let written = 0;
    const tasks = await this.rows(
      conn,
      'SELECT doc_id, task_type, progress, progress_msg, priority FROM task WHERE doc_id IN (?) ORDER BY create_time, id FOR UPDATE',
      [part.map((d) => d['id'])],
    );
    const byDoc = new Map<string, Row[]>();
    for (const t of tasks) {
      const k = str(t['doc_id']);
      const list = byDoc.get(k);
      if (list) list.push(t);
      else byDoc.set(k, [t]);
    }
    for (const d of part) {
      const list = byDoc.get(str(d['id']));
      if (!list || list.length === 0) continue;
      let sum = 0;
      let finished = true;
      let bad = 0;
      let special = false;
      let priority = 0;
      const msgs: string[] = [];
      for (const t of list) {
        const p = num(t['progress']);
        const type = str(t['task_type']).toLowerCase();
        if (FREEZE_TASK_TYPES.has(type) || type.startsWith('structure')) special = true;
        if (p >= 0 && p < 1) finished = false;
        if (p === -1) bad++;
        sum += p >= 0 ? p : 0;
        const m = str(t['progress_msg']);
        if (m.trim()) msgs.push(m);
        priority = Math.max(priority, num(t['priority']));
      }
      let prg = sum / list.length;
      let run: string = RunStatus.RUNNING;
      if (finished && bad) {
        prg = -1;
        run = RunStatus.FAIL;
      } else if (finished) {
        prg = 1;
        run = RunStatus.DONE;
      }
      const freeze = special && num(d['progress']) >= 1 && !finished;
      msgs.sort(comparePython);
      let message: string | null = msgs.join('\n');
      if (!message) message = opts.queueAhead ? `${await opts.queueAhead(priority, str(d['id']))} tasks are ahead in the queue...` : null;
      const sets = ['run = ?'];
      const params: unknown[] = [run];
      if (prg !== 0 && !freeze) {
        sets.push('progress = ?');
        params.push(prg);
      }
      if (message !== null) {
        sets.push('progress_msg = ?');
        params.push(fitText(message));
      }
      await this.exec(
        conn,
        `UPDATE document SET ${sets.join(', ')},
           process_duration = GREATEST(TIMESTAMPDIFF(MICROSECOND, COALESCE(process_begin_at, NOW(6)), NOW(6)) / 1000000, 0),
           process_begin_at = COALESCE(process_begin_at, NOW()), ${TOUCH}
         WHERE id = ? AND ${NOT_CANCELLED}`,
        [...params, d['id']],
      );
      written++;
    }
    return written;
  }

  // ---------------------------------------------------------------- producer side (ragline ingest)

  /** Finds a tenant by id (or by name when no id is given) and creates it when missing. Returns its id. */
  async ensureTenant(opts: { id?: string; name?: string; embdId: string; llmId?: string }): Promise<string> {
    const name = opts.name ?? 'ragline';
    return this.withNamedLock('ensureTenant', 'tenant', async (conn) => {
      const found = opts.id
        ? await this.rows(conn, 'SELECT id FROM tenant WHERE id = ?', [opts.id])
        : await this.rows(conn, "SELECT id FROM tenant WHERE name = ? AND status = '1' ORDER BY create_time LIMIT 1", [name]);
      if (found[0]) return str(found[0]['id']);
      const id = opts.id ?? newId();
      await this.exec(
        conn,
        `INSERT INTO tenant (id, name, llm_id, embd_id, asr_id, img2txt_id, rerank_id, parser_ids, credit, status,
           create_time, create_date, update_time, update_date)
         VALUES (?, ?, ?, ?, '', '', '', ?, 512, '1', ${NOW_MS}, NOW(), ${NOW_MS}, NOW())`,
        [id, name, opts.llmId ?? '', opts.embdId, 'naive:General,qa:Q&A,table:Table,paper:Paper,book:Book,laws:Laws,presentation:Presentation,one:One'],
      );
      return id;
    });
  }

  /** Finds a valid knowledge base by name within a tenant, else creates it (32-hex id). */
  async ensureKnowledgebase(opts: {
    name: string;
    tenantId: string;
    embdId: string;
    parserId?: string;
    parserConfig?: Record<string, unknown>;
    language?: string;
  }): Promise<KnowledgebaseRow> {
    return this.withNamedLock('ensureKnowledgebase', 'knowledgebase', async (conn) => {
      const found = await this.rows(conn, "SELECT * FROM knowledgebase WHERE tenant_id = ? AND name = ? AND status = '1' ORDER BY create_time LIMIT 1", [
        opts.tenantId,
        opts.name,
      ]);
      if (found[0]) return toKnowledgebaseRow(found[0]);
      const [tenant] = await this.rows(conn, 'SELECT id FROM tenant WHERE id = ?', [opts.tenantId]);
      if (!tenant) throw new TaskDbNotFoundError(`taskdb.ensureKnowledgebase: tenant ${opts.tenantId} not found`);
      const id = newId();
      await this.exec(
        conn,
        `INSERT INTO knowledgebase (id, tenant_id, name, language, description, embd_id, permission, created_by, doc_num, token_num,
           chunk_num, similarity_threshold, vector_similarity_weight, parser_id, parser_config, pagerank, status,
           create_time, create_date, update_time, update_date)
         VALUES (?, ?, ?, ?, '', ?, 'me', ?, 0, 0, 0, 0.2, 0.3, ?, ?, 0, '1', ${NOW_MS}, NOW(), ${NOW_MS}, NOW())`,
        [
          id,
          opts.tenantId,
          opts.name,
          opts.language ?? 'English',
          opts.embdId,
          opts.tenantId,
          opts.parserId ?? 'naive',
          JSON.stringify(opts.parserConfig ?? DEFAULT_PARSER_CONFIG),
        ],
      );
      const [row] = await this.rows(conn, 'SELECT * FROM knowledgebase WHERE id = ?', [id]);
      return toKnowledgebaseRow(row!);
    });
  }

  /**
   * Inserts a document row the way RAGFlow's upload does (run '0', progress 0) and counts it in
   * knowledgebase.doc_num. No file/file2document rows are written, so its storage address is
   * (kb_id, location).
   */
  async createDocument(opts: {
    kbId: string;
    name: string;
    location: string;
    size: number;
    type: string;
    suffix: string;
    parserId: string;
    parserConfig: Record<string, unknown>;
    id?: string;
    createdBy?: string;
    contentHash?: string;
  }): Promise<DocumentRow> {
    return this.tx('createDocument', async (conn) => {
      const [kb] = await this.rows(conn, 'SELECT id, tenant_id FROM knowledgebase WHERE id = ? FOR UPDATE', [opts.kbId]);
      if (!kb) throw new TaskDbNotFoundError(`taskdb.createDocument: knowledgebase ${opts.kbId} not found`);
      const id = opts.id ?? newId();
      await this.exec(
        conn,
        `INSERT INTO document (id, thumbnail, kb_id, parser_id, parser_config, source_type, type, created_by, name, location, size,
           token_num, chunk_num, progress, progress_msg, process_duration, suffix, content_hash, run, status,
           create_time, create_date, update_time, update_date)
         VALUES (?, NULL, ?, ?, ?, 'local', ?, ?, ?, ?, ?, 0, 0, 0, '', 0, ?, ?, '0', '1', ${NOW_MS}, NOW(), ${NOW_MS}, NOW())`,
        [
          id,
          opts.kbId,
          opts.parserId,
          JSON.stringify(opts.parserConfig),
          opts.type,
          opts.createdBy ?? str(kb['tenant_id']),
          opts.name,
          opts.location,
          Math.max(0, Math.round(opts.size)),
          opts.suffix,
          opts.contentHash ?? '',
        ],
      );
      await this.exec(conn, `UPDATE knowledgebase SET doc_num = doc_num + 1, ${TOUCH} WHERE id = ?`, [opts.kbId]);
      const [row] = await this.rows(conn, 'SELECT * FROM document WHERE id = ?', [id]);
      return toDocumentRow(row!);
    });
  }

  /**
   * RAGFlow's bulk_insert_into_db for tasks (upsert by id), stamping create_time (ms, +i per
   * row), create_date, update_time, update_date and begin_at from the server clock. Returns the
   * Redis queue messages in RAGFlow's key order (reference/ragflow.md §1.7).
   */
  async insertTasks(tasks: readonly TaskPlan[]): Promise<QueuedTask[]> {
    if (tasks.length === 0) return [];
    return this.run('insertTasks', async () => {
      const now = await this.serverNow(this.pool);
      const queued: QueuedTask[] = tasks.map((t, i) => ({
        id: t.id,
        doc_id: t.doc_id,
        progress: t.progress,
        from_page: t.from_page,
        to_page: t.to_page,
        begin_at: t.begin_at ?? now.date,
        digest: t.digest,
        priority: t.priority,
        create_time: now.ms + i,
        create_date: now.date,
        update_time: now.ms + i,
        update_date: now.date,
      }));
      const cols = ['id', 'doc_id', 'from_page', 'to_page', 'task_type', 'priority', 'begin_at', 'process_duration', 'progress', 'progress_msg',
        'retry_count', 'digest', 'chunk_ids', 'create_time', 'create_date', 'update_time', 'update_date'];
      const values = queued.map((q, i) => [q.id, q.doc_id, q.from_page, q.to_page, tasks[i]!.task_type ?? '', q.priority, q.begin_at, 0, q.progress,
        '', 0, q.digest, '', q.create_time, q.create_date, q.update_time, q.update_date]);
      const updates = cols.filter((c) => c !== 'id').map((c) => `${quoteIdent(c)} = VALUES(${quoteIdent(c)})`);
      for (const part of chunks(values)) {
        await this.exec(this.pool, `INSERT INTO task (${cols.map(quoteIdent).join(', ')}) VALUES ? ON DUPLICATE KEY UPDATE ${updates.join(', ')}`, [part]);
      }
      return queued;
    });
  }

  /** RAGFlow's `DocumentService.begin2parse`: "Task is queued...", begin time, small progress, run '1' (not for cancelled documents). */
  async beginToParse(docId: string): Promise<boolean> {
    return this.run('beginToParse', async () => {
      const res = await this.exec(
        this.pool,
        `UPDATE document SET progress_msg = ?, process_begin_at = NOW(), progress = ?, run = ?, ${TOUCH} WHERE id = ? AND ${NOT_CANCELLED}`,
        [QUEUED_MESSAGE, Math.random() / 100, RunStatus.RUNNING, docId],
      );
      return res.affectedRows > 0;
    });
  }

  /**
   * queue_tasks without the Redis part: plans the document's tasks, digests them with its
   * chunking config, inserts them, resets chunk_num and marks the document queued. Returns the
   * messages to put on the Redis queue (none for a PDF with zero pages, as RAGFlow).
   */
  async queueDocument(docId: string, info: PlanInfo = {}, opts: { priority?: number } = {}): Promise<QueuedTask[]> {
    const doc = await this.getDocument(docId);
    const config = await this.chunkingConfig(docId);
    if (!doc || !config) throw new TaskDbNotFoundError(`taskdb.queueDocument: document ${docId} (or its knowledgebase/tenant) not found`);
    const plans = planTasks(doc, info, opts.priority ?? 0).map((t) => ({ ...t, digest: taskDigest(config, t) }));
    await this.run('queueDocument', () => this.exec(this.pool, `UPDATE document SET chunk_num = 0, ${TOUCH} WHERE id = ?`, [docId]));
    const queued = await this.insertTasks(plans);
    await this.beginToParse(docId);
    return queued;
  }

  /** RAGFlow's DocumentService.get_chunking_config: the values the task digest covers. */
  async chunkingConfig(docId: string): Promise<ChunkingConfig | null> {
    return this.run('chunkingConfig', async () => {
      const [r] = await this.rows(
        this.pool,
        `SELECT d.id, d.kb_id, d.parser_id, d.parser_config, d.size, d.content_hash, k.language, k.embd_id,
           tn.id AS tenant_id, tn.img2txt_id, tn.asr_id, tn.llm_id
         FROM document d JOIN knowledgebase k ON k.id = d.kb_id JOIN tenant tn ON tn.id = k.tenant_id WHERE d.id = ?`,
        [docId],
      );
      if (!r) return null;
      return {
        id: str(r['id']),
        kb_id: str(r['kb_id']),
        parser_id: str(r['parser_id']),
        parser_config: parseJsonObject(r['parser_config']),
        size: num(r['size']),
        content_hash: strOrNull(r['content_hash']),
        language: strOrNull(r['language']),
        embd_id: str(r['embd_id']),
        tenant_id: str(r['tenant_id']),
        img2txt_id: str(r['img2txt_id']),
        asr_id: str(r['asr_id']),
        llm_id: str(r['llm_id']),
      };
    });
  }

  // ---------------------------------------------------------------- reads

  async getTask(id: string): Promise<TaskRecord | null> {
    return this.run('getTask', async () => {
      const [r] = await this.rows(this.pool, 'SELECT * FROM task WHERE id = ?', [id]);
      return r ? toTaskRecord(r) : null;
    });
  }

  async getDocument(id: string): Promise<DocumentRow | null> {
    return this.run('getDocument', async () => {
      const [r] = await this.rows(this.pool, 'SELECT * FROM document WHERE id = ?', [id]);
      return r ? toDocumentRow(r) : null;
    });
  }

  async getKnowledgebase(id: string): Promise<KnowledgebaseRow | null> {
    return this.run('getKnowledgebase', async () => {
      const [r] = await this.rows(this.pool, 'SELECT * FROM knowledgebase WHERE id = ?', [id]);
      return r ? toKnowledgebaseRow(r) : null;
    });
  }

  /** RAGFlow's get_storage_address: (file.parent_id, file.location) for file-manager uploads, else (kb_id, location). */
  async getStorageAddress(docId: string): Promise<{ bucket: string; name: string } | null> {
    return this.run('getStorageAddress', async () => {
      const [r] = await this.rows(
        this.pool,
        `SELECT d.kb_id, d.location, f.parent_id, f.location AS file_location, f.source_type
         FROM document d LEFT JOIN file2document f2d ON f2d.document_id = d.id LEFT JOIN file f ON f.id = f2d.file_id
         WHERE d.id = ? LIMIT 1`,
        [docId],
      );
      if (!r) return null;
      if (r['parent_id'] !== null && r['parent_id'] !== undefined && !r['source_type']) {
        return { bucket: str(r['parent_id']), name: str(r['file_location']) };
      }
      return { bucket: str(r['kb_id']), name: str(r['location']) };
    });
  }

  /** Tasks by state: queued (progress 0), running (0..1), done (>= 1), failed (< 0); newest first. */
  async listTasks(opts: TaskStateFilter = {}): Promise<TaskSummary[]> {
    return this.run('listTasks', async () => {
      const where: string[] = [];
      const params: unknown[] = [];
      switch (opts.state) {
        case 'queued':
          where.push('t.progress = 0');
          break;
        case 'running':
          where.push('t.progress > 0 AND t.progress < 1');
          break;
        case 'done':
          where.push('t.progress >= 1');
          break;
        case 'failed':
          where.push('t.progress < 0');
          break;
        default:
          break;
      }
      if (opts.kbId) {
        where.push('d.kb_id = ?');
        params.push(opts.kbId);
      }
      if (opts.docId) {
        where.push('t.doc_id = ?');
        params.push(opts.docId);
      }
      const limit = Math.min(Math.max(1, Math.floor(opts.limit ?? 100)), 10_000);
      const rows = await this.rows(
        this.pool,
        `${TASK_SUMMARY_SELECT} ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
         ORDER BY COALESCE(t.update_time, t.create_time) DESC, t.id LIMIT ${limit}`,
        params,
      );
      return rows.map(toTaskSummary);
    });
  }

  /** Progress of documents, in the order the rows come back (unknown ids are absent). */
  async documentProgress(docIds: readonly string[]): Promise<DocumentProgress[]> {
    if (docIds.length === 0) return [];
    return this.run('documentProgress', async () => {
      const out: DocumentProgress[] = [];
      for (const part of chunks([...new Set(docIds)])) {
        const rows = await this.rows(
          this.pool,
          `SELECT id, kb_id, name, progress, run, progress_msg, chunk_num, token_num, process_begin_at, process_duration
           FROM document WHERE id IN (?)`,
          [part],
        );
        for (const r of rows) {
          out.push({
            id: str(r['id']),
            kb_id: str(r['kb_id']),
            name: strOrNull(r['name']),
            progress: num(r['progress']),
            run: strOrNull(r['run']),
            progress_msg: str(r['progress_msg']),
            chunk_num: num(r['chunk_num']),
            token_num: num(r['token_num']),
            process_begin_at: strOrNull(r['process_begin_at']),
            process_duration: num(r['process_duration']),
          });
        }
      }
      return out;
    });
  }

  /**
   * Tasks still unfinished (progress in [0,1)) whose last write is older than `olderThanMs`
   * (server clock), oldest first: candidates for re-enqueueing after a lost queue or a dead worker.
   */
  async unfinishedTasks(olderThanMs = 0, limit = 1000): Promise<TaskSummary[]> {
    return this.run('unfinishedTasks', async () => {
      const rows = await this.rows(
        this.pool,
        `${TASK_SUMMARY_SELECT}
         WHERE t.progress >= 0 AND t.progress < 1 AND COALESCE(t.update_time, t.create_time, 0) <= ${NOW_MS} - ?
         ORDER BY COALESCE(t.update_time, t.create_time), t.id LIMIT ${Math.min(Math.max(1, Math.floor(limit)), 100_000)}`,
        [Math.max(0, Math.floor(olderThanMs))],
      );
      return rows.map(toTaskSummary);
    });
  }

  /**
   * Checks the server answers (readiness probes, `ragline up`); connects without selecting the
   * database so it also works before `migrate` created it.
   */
  async ping(): Promise<void> {
    await this.run('ping', async () => {
      const conn = await createConnection({ ...this.connectionOptions(false), connectTimeout: 3000 });
      try {
        await conn.query('SELECT 1');
      } finally {
        await conn.end();
      }
    });
  }

  /** Drops this TaskDb's database (tests and throwaway environments only). */
  async dropDatabase(): Promise<void> {
    await this.run('dropDatabase', async () => {
      const conn = await createConnection(this.connectionOptions(false));
      try {
        await conn.query(`DROP DATABASE IF EXISTS ${quoteIdent(this.options.database)}`);
      } finally {
        await conn.end();
      }
    });
  }

  /** A knowledge base by name (optionally within one tenant); the newest when several share it. */
  async findKnowledgebaseByName(name: string, tenantId?: string): Promise<KnowledgebaseRow | null> {
    return this.run('findKnowledgebaseByName', async () => {
      const [r] = await this.rows(
        this.pool,
        `SELECT * FROM knowledgebase WHERE name = ? AND status = '1'${tenantId ? ' AND tenant_id = ?' : ''} ORDER BY create_time DESC LIMIT 1`,
        tenantId ? [name, tenantId] : [name],
      );
      return r ? toKnowledgebaseRow(r) : null;
    });
  }

  /** Closes the pool; in-flight queries finish first. */
  async close(): Promise<void> {
    await this.pool.end().catch((err: unknown) => {
      throw this.wrap(err, 'close');
    });
  }
}

/** Creates a TaskDb over a mysql2 pool (nothing connects until the first query). */
export function createTaskDb(opts: TaskDbOptions = {}): TaskDb {
  return new TaskDb(opts);
}
