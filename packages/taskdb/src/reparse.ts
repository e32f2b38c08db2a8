import type { PoolConnection } from 'mysql2/promise';
import type { TaskDbConnection } from './connection.js';
import { TaskDbError, TaskDbNotFoundError } from './errors.js';
import { planTasks, taskDigest, type PlanInfo, type TaskPlan } from './plan.js';
import { formatProgressLine } from './progress.js';
import { beginToParse, chunkingConfig, insertTasks } from './ragflow-api.js';
import { NOW_MS, num, str, TOUCH } from './rows.js';
import { STORAGE_ADDRESS_COLUMNS, STORAGE_ADDRESS_JOIN, storageAddress } from './storage-address.js';
import { connectionOf, type TaskDb } from './taskdb.js';
import { RunStatus, type QueuedTask } from './types.js';

// RAGFlow's document run (re-parse) and delete actions, on Ragline's exactly-once counters
// (docs/ragflow-compatibility.md §2 Task planning). The Redis and doc store halves are the caller's
// (packages/cli: reparse.ts, delete.ts): this module decides what to delete and what to queue.

/** The document still has unfinished tasks: re-parsing now would race them for its chunks. */
export class DocumentBusyError extends TaskDbError {
  override readonly name = 'DocumentBusyError';
  constructor(
    readonly docId: string,
    readonly unfinished: number,
  ) {
    super(`document ${docId} is being parsed (${unfinished} unfinished task${unfinished === 1 ? '' : 's'}); cancel it or wait for it to end, then re-parse`, {
      retryable: false,
      code: 'DOCUMENT_BUSY',
    });
  }
}

export const REUSED_MESSAGE = "Reused previous task's chunks.";

export interface ReparsePlan {
  docId: string;
  kbId: string;
  tenantId: string;
  /** tasks to put on RAGFlow's queue (the ones not reused), in RAGFlow's message shape */
  queue: QueuedTask[];
  /** ids of the new tasks that reused an earlier task's chunks (already at progress 1) */
  reusedTasks: string[];
  reusedChunks: number;
  /** chunks of the earlier tasks that no new task reuses: remove them from the doc store before queueing */
  staleChunkIds: string[];
}

interface PrevTask {
  id: string;
  from_page: number;
  digest: string;
  progress: number;
  chunk_ids: string[];
  tokens: number;
}

function splitIds(text: unknown): string[] {
  return str(text).split(/\s+/).filter(Boolean);
}

/**
 * RAGFlow's `queue_tasks` on a document that was parsed before, with `reuse_prev_task_chunks`: the
 * document's tasks are planned again and digested (document, parser config, page range); a new task
 * whose page start and digest match an earlier task that finished (progress 1, chunk ids) takes
 * over its chunks and is done at once; the earlier tasks are deleted and their other chunks are
 * returned as stale. Unlike RAGFlow (which only sets `document.chunk_num`), the document's and
 * knowledge base's `chunk_num` and `token_num` stay exact: the old counts come off, the reused
 * ones go back on, and each new task adds its own when it completes. One transaction: a concurrent
 * completion of an earlier task either lands before (and is counted, then taken off) or finds its
 * task gone. Refuses (DocumentBusyError) while earlier tasks are unfinished.
 */
export async function planReparse(db: TaskDb, docId: string, info: PlanInfo = {}, opts: { priority?: number } = {}): Promise<ReparsePlan> {
  const c = connectionOf(db);
  const config = await chunkingConfig(c, docId);
  if (!config) throw new TaskDbNotFoundError(`taskdb.planReparse: document ${docId} (or its knowledgebase/tenant) not found`);
  const plan = await c.tx('planReparse', async (conn) => {
    // tasks first, then the document: the lock order of completeTask, so the two cannot deadlock
    const prevRows = await c.rows(
      conn,
      `SELECT t.id, t.from_page, t.digest, t.progress, t.chunk_ids, t.task_type, rc.tokens
       FROM task t LEFT JOIN ragline_task_completion rc ON rc.task_id = t.id WHERE t.doc_id = ? ORDER BY t.create_time FOR UPDATE`,
      [docId],
    );
    const [doc] = await c.rows(conn, 'SELECT id, kb_id, parser_id, parser_config, type, chunk_num, token_num, run FROM document WHERE id = ? FOR UPDATE', [docId]);
    if (!doc) throw new TaskDbNotFoundError(`taskdb.planReparse: document ${docId} not found`);
    const unfinished = prevRows.filter((t) => num(t['progress']) >= 0 && num(t['progress']) < 1).length;
    if (unfinished > 0 && doc['run'] === RunStatus.RUNNING) throw new DocumentBusyError(docId, unfinished);

    const prev: PrevTask[] = prevRows
      .filter((t) => !str(t['task_type']))
      .map((t) => ({
        id: str(t['id']),
        from_page: num(t['from_page']),
        digest: str(t['digest']),
        progress: num(t['progress']),
        chunk_ids: splitIds(t['chunk_ids']),
        tokens: num(t['tokens']),
      }));
    const plans = planTasks(
      { id: docId, type: str(doc['type']), parser_id: str(doc['parser_id']), parser_config: config.parser_config },
      info,
      opts.priority ?? 0,
    ).map((t) => ({ ...t, digest: taskDigest(config, t) }));

    const reused = new Map<string, { chunkIds: string[]; tokens: number }>();
    const taken = new Set<string>();
    for (const t of plans) {
      // reuse_prev_task_chunks: the first earlier task with the same page start and digest
      const p = prev.find((x) => x.from_page === t.from_page && x.digest === t.digest);
      if (!p || taken.has(p.id) || p.progress < 1 || p.chunk_ids.length === 0) continue;
      taken.add(p.id);
      reused.set(t.id, { chunkIds: p.chunk_ids, tokens: p.tokens });
      t.progress = 1;
    }
    const keep = new Set([...reused.values()].flatMap((r) => r.chunkIds));
    const staleChunkIds = [...new Set(prev.flatMap((p) => p.chunk_ids))].filter((id) => !keep.has(id));
    const reusedChunks = [...reused.values()].reduce((n, r) => n + r.chunkIds.length, 0);
    const reusedTokens = [...reused.values()].reduce((n, r) => n + r.tokens, 0);

    const prevIds = prevRows.map((t) => str(t['id']));
    if (prevIds.length) {
      await c.exec(conn, 'DELETE FROM task WHERE doc_id = ?', [docId]);
      await c.exec(conn, 'DELETE FROM ragline_task_batch WHERE task_id IN (?)', [prevIds]);
      await c.exec(conn, 'DELETE FROM ragline_task_completion WHERE task_id IN (?)', [prevIds]);
    }
    const oldChunks = num(doc['chunk_num']);
    const oldTokens = num(doc['token_num']);
    // run '1' explicitly, as RAGFlow's run action does: a document cancelled before (run '2') is
    // parsed again, and its stale cancel must not drop the new tasks (RAGFlow #17708)
    await c.exec(conn, `UPDATE document SET chunk_num = ?, token_num = ?, progress = 0, progress_msg = '', run = ?, ${TOUCH} WHERE id = ?`, [
      reusedChunks,
      reusedTokens,
      RunStatus.RUNNING,
      docId,
    ]);
    await c.exec(conn, `UPDATE knowledgebase SET chunk_num = chunk_num - ?, token_num = token_num - ?, ${TOUCH} WHERE id = ?`, [
      oldChunks - reusedChunks,
      oldTokens - reusedTokens,
      str(doc['kb_id']),
    ]);
    await insertReused(c, conn, plans, reused);
    return { plans, reused, reusedChunks, staleChunkIds, kbId: str(doc['kb_id']) };
  });
  const queued = await insertTasks(c, plan.plans.filter((t) => !plan.reused.has(t.id)));
  await beginToParse(c, docId);
  return {
    docId,
    kbId: plan.kbId,
    tenantId: config.tenant_id,
    queue: queued,
    reusedTasks: [...plan.reused.keys()],
    reusedChunks: plan.reusedChunks,
    staleChunkIds: plan.staleChunkIds,
  };
}

/** Inserts the reused tasks done, with their chunk ids and RAGFlow's line, and their completion row (counted already). */
async function insertReused(
  c: TaskDbConnection,
  conn: PoolConnection,
  plans: readonly TaskPlan[],
  reused: ReadonlyMap<string, { chunkIds: string[]; tokens: number }>,
): Promise<void> {
  for (const t of plans) {
    const r = reused.get(t.id);
    if (!r) continue;
    const line = formatProgressLine(REUSED_MESSAGE, { pageRange: { from: t.from_page, to: t.to_page } });
    await c.exec(
      conn,
      `INSERT INTO task (id, doc_id, from_page, to_page, task_type, priority, begin_at, process_duration, progress, progress_msg,
         retry_count, digest, chunk_ids, create_time, create_date, update_time, update_date)
       VALUES (?, ?, ?, ?, '', ?, NOW(), 0, 1, ?, 0, ?, ?, ${NOW_MS}, NOW(), ${NOW_MS}, NOW())`,
      [t.id, t.doc_id, t.from_page, t.to_page, t.priority, line, t.digest, r.chunkIds.join(' ')],
    );
    // the completion row makes a stray completion of this task a no-op, and carries its tokens to a later reuse
    await c.exec(conn, 'INSERT INTO ragline_task_completion (task_id, chunks, tokens) VALUES (?, ?, ?)', [t.id, r.chunkIds.length, r.tokens]);
  }
}

export interface DeletedDocument {
  docId: string;
  kbId: string;
  tenantId: string;
  /** where its file is stored (RAGFlow removes it too) */
  bucket: string;
  name: string;
  /** its tasks, whose cancel flags the caller sets so no stage writes for them again */
  taskIds: string[];
}

/** The ids of a document's tasks, for the cancel flags to set before its rows go. */
export async function documentTaskIds(db: TaskDb, docId: string): Promise<string[]> {
  const c = connectionOf(db);
  return c.run('documentTaskIds', async () => (await c.rows(c.pool, 'SELECT id FROM task WHERE doc_id = ?', [docId])).map((r) => str(r['id'])));
}

/**
 * RAGFlow's `delete_document_and_update_kb_counts` plus its task cleanup: deletes the task rows
 * (and Ragline's batch/completion rows of them) and the document, and takes the document's
 * `token_num`, `chunk_num` and one `doc_num` off its knowledge base, in one transaction. Null when
 * the document does not exist (already deleted). The cancel flags, chunks and file are the caller's.
 */
export async function deleteDocumentRows(db: TaskDb, docId: string): Promise<DeletedDocument | null> {
  const c = connectionOf(db);
  return c.tx('deleteDocument', async (conn) => {
    const tasks = await c.rows(conn, 'SELECT id FROM task WHERE doc_id = ? FOR UPDATE', [docId]);
    const [doc] = await c.rows(
      conn,
      `SELECT d.id, d.kb_id, d.chunk_num, d.token_num, k.tenant_id, ${STORAGE_ADDRESS_COLUMNS}
       FROM document d JOIN knowledgebase k ON k.id = d.kb_id ${STORAGE_ADDRESS_JOIN} WHERE d.id = ? FOR UPDATE`,
      [docId],
    );
    if (!doc) return null;
    const taskIds = tasks.map((t) => str(t['id']));
    if (taskIds.length) {
      await c.exec(conn, 'DELETE FROM task WHERE doc_id = ?', [docId]);
      await c.exec(conn, 'DELETE FROM ragline_task_batch WHERE task_id IN (?)', [taskIds]);
      await c.exec(conn, 'DELETE FROM ragline_task_completion WHERE task_id IN (?)', [taskIds]);
    }
    await c.exec(conn, 'DELETE FROM document WHERE id = ?', [docId]);
    await c.exec(conn, `UPDATE knowledgebase SET token_num = token_num - ?, chunk_num = chunk_num - ?, doc_num = doc_num - 1, ${TOUCH} WHERE id = ?`, [
      num(doc['token_num']),
      num(doc['chunk_num']),
      str(doc['kb_id']),
    ]);
    return {
      docId,
      kbId: str(doc['kb_id']),
      tenantId: str(doc['tenant_id']),
      ...storageAddress(doc),
      taskIds,
    };
  });
}
