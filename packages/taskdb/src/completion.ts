import type { TaskDbConnection } from './connection.js';
import { appendProgressMsg, formatProgressLine } from './progress.js';
import { fitText, num, secondsSince, str, TOUCH } from './rows.js';
import { RunStatus, type CompleteTotals, type RecordBatchOptions } from './types.js';

// The monitor's exactly-once bookkeeping: indexed batches, then one completion per task.

/**
 * Records one indexed batch; a redelivered batch (same task and batch number) is ignored.
 * Returns true only when the batch is new.
 */
export async function recordIndexedBatch(
  c: TaskDbConnection,
  taskId: string,
  batchNo: number,
  chunkIds: readonly string[],
  tokens: number,
  opts: RecordBatchOptions = {},
): Promise<boolean> {
  const ids = chunkIds.join(' ');
  return c.tx('recordIndexedBatch', async (conn) => {
    const res = await c.exec(
      conn,
      'INSERT IGNORE INTO ragline_task_batch (task_id, batch_no, chunk_ids, chunk_count, token_count) VALUES (?, ?, ?, ?, ?)',
      [taskId, batchNo, ids, chunkIds.length, Math.max(0, Math.round(tokens))],
    );
    if (res.affectedRows !== 1) return false;
    if ((opts.appendToTask ?? true) && ids) {
      await c.exec(conn, `UPDATE task SET chunk_ids = IF(chunk_ids IS NULL OR chunk_ids = '', ?, CONCAT(chunk_ids, ' ', ?)), ${TOUCH} WHERE id = ?`, [
        ids,
        ids,
        taskId,
      ]);
    }
    return true;
  });
}

/** How many distinct batches of a task are recorded (what completion waits for). */
export async function indexedBatchCount(c: TaskDbConnection, taskId: string): Promise<number> {
  return c.run('indexedBatchCount', async () => {
    const [r] = await c.rows(c.pool, 'SELECT COUNT(*) AS n FROM ragline_task_batch WHERE task_id = ?', [taskId]);
    return num(r?.['n']);
  });
}

/**
 * Marks a task done exactly once (whatever the number of concurrent or repeated calls):
 * progress 1.0 with a `Task done (X.XXs)` line, chunk_ids of all its batches in batch order,
 * process_duration, then RAGFlow's increment_chunk_num on the document and knowledge base.
 * Returns false for repeats, unknown tasks and tasks of cancelled documents.
 */
export async function completeTask(c: TaskDbConnection, taskId: string, totals: CompleteTotals): Promise<boolean> {
  return c.tx('completeTask', async (conn) => {
    const [t] = await c.rows(
      conn,
      `SELECT id, doc_id, from_page, to_page, progress_msg, IF(begin_at IS NULL, NULL, ${secondsSince('begin_at')}) AS elapsed
       FROM task WHERE id = ? FOR UPDATE`,
      [taskId],
    );
    if (!t) return false;
    const docId = str(t['doc_id']);
    const [doc] = await c.rows(conn, 'SELECT id, kb_id, run FROM document WHERE id = ?', [docId]);
    if (doc?.['run'] === RunStatus.CANCEL) return false;
    const chunkCount = Math.max(0, Math.round(totals.chunks));
    const tokenCount = Math.max(0, Math.round(totals.tokens));
    const ins = await c.exec(conn, 'INSERT IGNORE INTO ragline_task_completion (task_id, chunks, tokens) VALUES (?, ?, ?)', [
      taskId,
      chunkCount,
      tokenCount,
    ]);
    if (ins.affectedRows !== 1) return false;

    const batches = await c.rows(conn, 'SELECT chunk_ids FROM ragline_task_batch WHERE task_id = ? ORDER BY batch_no', [taskId]);
    const chunkIds = batches.map((b) => str(b['chunk_ids'])).filter(Boolean).join(' ');
    const seconds = totals.durationMs !== undefined ? totals.durationMs / 1000 : num(t['elapsed']);
    const line = formatProgressLine(totals.msg ?? `Task done (${seconds.toFixed(2)}s)`, {
      pageRange: { from: num(t['from_page']), to: num(t['to_page']) },
    });
    await c.exec(conn, `UPDATE task SET progress = 1, progress_msg = ?, chunk_ids = ?, process_duration = ?, ${TOUCH} WHERE id = ?`, [
      fitText(appendProgressMsg(str(t['progress_msg']), line)),
      chunkIds,
      seconds,
      taskId,
    ]);
    if (doc) {
      // RAGFlow's DocumentService.increment_chunk_num (duration 0 on the standard path).
      await c.exec(conn, `UPDATE document SET token_num = token_num + ?, chunk_num = chunk_num + ?, ${TOUCH} WHERE id = ?`, [
        tokenCount,
        chunkCount,
        docId,
      ]);
      await c.exec(conn, `UPDATE knowledgebase SET token_num = token_num + ?, chunk_num = chunk_num + ?, ${TOUCH} WHERE id = ?`, [
        tokenCount,
        chunkCount,
        doc['kb_id'],
      ]);
    }
    return true;
  });
}
