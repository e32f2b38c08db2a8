import type { TaskDbConnection } from './connection.js';
import {
  chunks,
  NOW_MS,
  num,
  str,
  strOrNull,
  TASK_SUMMARY_SELECT,
  toDocumentRow,
  toKnowledgebaseRow,
  toTaskRecord,
  toTaskSummary,
  UNFINISHED_TASK,
} from './rows.js';
import type { DocumentProgress, DocumentRow, KnowledgebaseRow, TaskRecord, TaskSummary } from './types.js';

// Reads: the monitor's HTTP API and recovery, the CLI's status, search and ingest.

export interface TaskStateFilter {
  state?: 'running' | 'done' | 'failed' | 'queued';
  kbId?: string;
  docId?: string;
  /** default 100 */
  limit?: number;
}

export async function getTask(c: TaskDbConnection, id: string): Promise<TaskRecord | null> {
  return c.run('getTask', async () => {
    const [r] = await c.rows(c.pool, 'SELECT * FROM task WHERE id = ?', [id]);
    return r ? toTaskRecord(r) : null;
  });
}

export async function getDocument(c: TaskDbConnection, id: string): Promise<DocumentRow | null> {
  return c.run('getDocument', async () => {
    const [r] = await c.rows(c.pool, 'SELECT * FROM document WHERE id = ?', [id]);
    return r ? toDocumentRow(r) : null;
  });
}

export async function getKnowledgebase(c: TaskDbConnection, id: string): Promise<KnowledgebaseRow | null> {
  return c.run('getKnowledgebase', async () => {
    const [r] = await c.rows(c.pool, 'SELECT * FROM knowledgebase WHERE id = ?', [id]);
    return r ? toKnowledgebaseRow(r) : null;
  });
}

/** Tasks by state: queued (progress 0), running (0..1), done (>= 1), failed (< 0); newest first. */
export async function listTasks(c: TaskDbConnection, opts: TaskStateFilter = {}): Promise<TaskSummary[]> {
  return c.run('listTasks', async () => {
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
    const rows = await c.rows(
      c.pool,
      `${TASK_SUMMARY_SELECT} ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY COALESCE(t.update_time, t.create_time) DESC, t.id LIMIT ${limit}`,
      params,
    );
    return rows.map(toTaskSummary);
  });
}

/** Progress of documents, in the order the rows come back (unknown ids are absent). */
export async function documentProgress(c: TaskDbConnection, docIds: readonly string[]): Promise<DocumentProgress[]> {
  if (docIds.length === 0) return [];
  return c.run('documentProgress', async () => {
    const out: DocumentProgress[] = [];
    for (const part of chunks([...new Set(docIds)])) {
      const rows = await c.rows(
        c.pool,
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
export async function unfinishedTasks(c: TaskDbConnection, olderThanMs = 0, limit = 1000): Promise<TaskSummary[]> {
  return c.run('unfinishedTasks', async () => {
    const rows = await c.rows(
      c.pool,
      `${TASK_SUMMARY_SELECT}
       WHERE ${UNFINISHED_TASK('t.')} AND COALESCE(t.update_time, t.create_time, 0) <= ${NOW_MS} - ?
       ORDER BY COALESCE(t.update_time, t.create_time), t.id LIMIT ${Math.min(Math.max(1, Math.floor(limit)), 100_000)}`,
      [Math.max(0, Math.floor(olderThanMs))],
    );
    return rows.map(toTaskSummary);
  });
}

/** A knowledge base by name (optionally within one tenant); the newest when several share it. */
export async function findKnowledgebaseByName(c: TaskDbConnection, name: string, tenantId?: string): Promise<KnowledgebaseRow | null> {
  return c.run('findKnowledgebaseByName', async () => {
    const [r] = await c.rows(
      c.pool,
      `SELECT * FROM knowledgebase WHERE name = ? AND status = '1'${tenantId ? ' AND tenant_id = ?' : ''} ORDER BY create_time DESC LIMIT 1`,
      tenantId ? [name, tenantId] : [name],
    );
    return r ? toKnowledgebaseRow(r) : null;
  });
}
