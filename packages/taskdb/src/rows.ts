import type { Queryable, Row, TaskDbConnection } from './connection.js';
import { RunStatus, type DocumentRow, type KnowledgebaseRow, type TaskRecord, type TaskSummary } from './types.js';

// SQL fragments and row mapping shared by the modules: every module reads and writes the same
// RAGFlow columns, so there is one way to stamp times and to turn driver rows into typed rows.

/** Server clock, so every stored time follows the MySQL session time zone. */
export const NOW_MS = 'CAST(ROUND(UNIX_TIMESTAMP(NOW(3)) * 1000) AS SIGNED)';
export const TOUCH = `update_time = ${NOW_MS}, update_date = NOW()`;
/** Seconds since a DATETIME column, computed by the server. */
export const secondsSince = (column: string) => `TIMESTAMPDIFF(MICROSECOND, ${column}, NOW(6)) / 1000000`;
/** Documents the user has not cancelled (run '2'); writers leave cancelled ones alone (docs/ragflow-compatibility.md §7 Cancellation). */
export const NOT_CANCELLED = `(run IS NULL OR run <> '${RunStatus.CANCEL}')`;
/** Tasks still to be worked on: not done (progress 1) and not failed (progress -1). */
export const UNFINISHED_TASK = (alias = '') => `${alias}progress >= 0 AND ${alias}progress < 1`;

const TEXT_MAX_BYTES = 65_535;
const IN_CHUNK = 500;

/**
 * A failed task fails its document at once (run '4', progress -1), rather than at the next
 * progress sync, so the user sees the failure while other tasks still run; cancelled documents
 * keep their state. `msg`, when given, becomes the document's progress_msg.
 */
export async function failDocument(c: TaskDbConnection, db: Queryable, docId: unknown, msg?: string): Promise<void> {
  await c.exec(db, `UPDATE document SET progress = -1, run = ?${msg === undefined ? '' : ', progress_msg = ?'}, ${TOUCH} WHERE id = ? AND ${NOT_CANCELLED}`, [
    RunStatus.FAIL,
    ...(msg === undefined ? [] : [msg]),
    docId,
  ]);
}

export async function serverNow(c: TaskDbConnection, db: Queryable): Promise<{ ms: number; date: string }> {
  const [r] = await c.rows(db, `SELECT ${NOW_MS} AS ms, DATE_FORMAT(NOW(), '%Y-%m-%d %H:%i:%s') AS date`);
  return { ms: num(r?.['ms']), date: str(r?.['date']) };
}

export function parseJsonObject(text: unknown): Record<string, unknown> {
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
export function fitText(text: string, maxBytes = TEXT_MAX_BYTES): string {
  if (text.length * 3 <= maxBytes || Buffer.byteLength(text) <= maxBytes) return text;
  const buf = Buffer.from(text);
  let start = buf.length - maxBytes;
  while (start < buf.length && (buf[start]! & 0xc0) === 0x80) start++; // do not start inside a UTF-8 sequence
  return buf.subarray(start).toString();
}

/** Splits long `IN (?)` lists so no statement carries thousands of ids. */
export function chunks<T>(items: readonly T[], size = IN_CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export const num = (v: unknown, fallback = 0): number => (v === null || v === undefined ? fallback : Number(v));
export const str = (v: unknown): string => (v === null || v === undefined ? '' : String(v));
export const strOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
export const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

export function toTaskRecord(r: Row): TaskRecord {
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

export function toTaskSummary(r: Row): TaskSummary {
  const { chunk_ids: _ids, ...rest } = toTaskRecord(r);
  return { ...rest, kb_id: strOrNull(r['kb_id']), doc_name: strOrNull(r['doc_name']) };
}

export function toDocumentRow(r: Row): DocumentRow {
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

export function toKnowledgebaseRow(r: Row): KnowledgebaseRow {
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

export const TASK_SUMMARY_SELECT = `SELECT t.id, t.doc_id, t.from_page, t.to_page, t.task_type, t.priority, t.begin_at,
  t.process_duration, t.progress, t.progress_msg, t.retry_count, t.digest, t.create_time, t.create_date,
  t.update_time, t.update_date, d.kb_id, d.name AS doc_name
  FROM task t LEFT JOIN document d ON d.id = t.doc_id`;
