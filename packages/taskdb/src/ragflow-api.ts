import type { TaskDbConnection } from './connection.js';
import { TaskDbNotFoundError } from './errors.js';
import { newId, planTasks, taskDigest, type PlanInfo, type TaskPlan } from './plan.js';
import { getDocument } from './queries.js';
import { chunks, NOT_CANCELLED, NOW_MS, num, parseJsonObject, serverNow, str, strOrNull, toDocumentRow, toKnowledgebaseRow, TOUCH } from './rows.js';
import { quoteIdent } from './schema.js';
import { RunStatus, type ChunkingConfig, type DocumentRow, type KnowledgebaseRow, type QueuedTask } from './types.js';

// What RAGFlow's API server writes when a user uploads and parses a document, for `ragline
// ingest` and tests that need rows RAGFlow would have made.

/** RAGFlow's document/knowledgebase parser_config column default. */
export const DEFAULT_PARSER_CONFIG = Object.freeze({ pages: [[1, 1000000]], table_context_size: 0, image_context_size: 0 });
export const QUEUED_MESSAGE = 'Task is queued...';

export interface EnsureTenantOptions {
  id?: string;
  name?: string;
  embdId: string;
  llmId?: string;
}

export interface EnsureKnowledgebaseOptions {
  name: string;
  tenantId: string;
  embdId: string;
  parserId?: string;
  parserConfig?: Record<string, unknown>;
  language?: string;
}

export interface CreateDocumentOptions {
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
}

/** Finds a tenant by id (or by name when no id is given) and creates it when missing. Returns its id. */
export async function ensureTenant(c: TaskDbConnection, opts: EnsureTenantOptions): Promise<string> {
  const name = opts.name ?? 'ragline';
  return c.withNamedLock('ensureTenant', 'tenant', async (conn) => {
    const found = opts.id
      ? await c.rows(conn, 'SELECT id FROM tenant WHERE id = ?', [opts.id])
      : await c.rows(conn, "SELECT id FROM tenant WHERE name = ? AND status = '1' ORDER BY create_time LIMIT 1", [name]);
    if (found[0]) return str(found[0]['id']);
    const id = opts.id ?? newId();
    await c.exec(
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
export async function ensureKnowledgebase(c: TaskDbConnection, opts: EnsureKnowledgebaseOptions): Promise<KnowledgebaseRow> {
  return c.withNamedLock('ensureKnowledgebase', 'knowledgebase', async (conn) => {
    const found = await c.rows(conn, "SELECT * FROM knowledgebase WHERE tenant_id = ? AND name = ? AND status = '1' ORDER BY create_time LIMIT 1", [
      opts.tenantId,
      opts.name,
    ]);
    if (found[0]) return toKnowledgebaseRow(found[0]);
    const [tenant] = await c.rows(conn, 'SELECT id FROM tenant WHERE id = ?', [opts.tenantId]);
    if (!tenant) throw new TaskDbNotFoundError(`taskdb.ensureKnowledgebase: tenant ${opts.tenantId} not found`);
    const id = newId();
    await c.exec(
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
    const [row] = await c.rows(conn, 'SELECT * FROM knowledgebase WHERE id = ?', [id]);
    return toKnowledgebaseRow(row!);
  });
}

/**
 * Inserts a document row the way RAGFlow's upload does (run '0', progress 0) and counts it in
 * knowledgebase.doc_num. No file/file2document rows are written, so its storage address is
 * (kb_id, location).
 */
export async function createDocument(c: TaskDbConnection, opts: CreateDocumentOptions): Promise<DocumentRow> {
  return c.tx('createDocument', async (conn) => {
    const [kb] = await c.rows(conn, 'SELECT id, tenant_id FROM knowledgebase WHERE id = ? FOR UPDATE', [opts.kbId]);
    if (!kb) throw new TaskDbNotFoundError(`taskdb.createDocument: knowledgebase ${opts.kbId} not found`);
    const id = opts.id ?? newId();
    await c.exec(
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
    await c.exec(conn, `UPDATE knowledgebase SET doc_num = doc_num + 1, ${TOUCH} WHERE id = ?`, [opts.kbId]);
    const [row] = await c.rows(conn, 'SELECT * FROM document WHERE id = ?', [id]);
    return toDocumentRow(row!);
  });
}

/**
 * RAGFlow's bulk_insert_into_db for tasks (upsert by id), stamping create_time (ms, +i per
 * row), create_date, update_time, update_date and begin_at from the server clock. Returns the
 * Redis queue messages in RAGFlow's key order (docs/ragflow-compatibility.md §4 Redis queue message).
 */
export async function insertTasks(c: TaskDbConnection, tasks: readonly TaskPlan[]): Promise<QueuedTask[]> {
  if (tasks.length === 0) return [];
  return c.run('insertTasks', async () => {
    const now = await serverNow(c, c.pool);
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
      await c.exec(c.pool, `INSERT INTO task (${cols.map(quoteIdent).join(', ')}) VALUES ? ON DUPLICATE KEY UPDATE ${updates.join(', ')}`, [part]);
    }
    return queued;
  });
}

/**
 * RAGFlow's `DocumentService.begin2parse` (docs/ragflow-compatibility.md §2 Task planning): "Task
 * is queued...", begin time, small progress, run '1' (not for cancelled documents).
 */
export async function beginToParse(c: TaskDbConnection, docId: string): Promise<boolean> {
  return c.run('beginToParse', async () => {
    const res = await c.exec(
      c.pool,
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
export async function queueDocument(c: TaskDbConnection, docId: string, info: PlanInfo = {}, opts: { priority?: number } = {}): Promise<QueuedTask[]> {
  const doc = await getDocument(c, docId);
  const config = await chunkingConfig(c, docId);
  if (!doc || !config) throw new TaskDbNotFoundError(`taskdb.queueDocument: document ${docId} (or its knowledgebase/tenant) not found`);
  const plans = planTasks(doc, info, opts.priority ?? 0).map((t) => ({ ...t, digest: taskDigest(config, t) }));
  await c.run('queueDocument', () => c.exec(c.pool, `UPDATE document SET chunk_num = 0, ${TOUCH} WHERE id = ?`, [docId]));
  const queued = await insertTasks(c, plans);
  await beginToParse(c, docId);
  return queued;
}

/** RAGFlow's DocumentService.get_chunking_config: the values the task digest covers. */
export async function chunkingConfig(c: TaskDbConnection, docId: string): Promise<ChunkingConfig | null> {
  return c.run('chunkingConfig', async () => {
    const [r] = await c.rows(
      c.pool,
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
