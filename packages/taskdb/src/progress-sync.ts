import type { PoolConnection } from 'mysql2/promise';
import type { Row, TaskDbConnection } from './connection.js';
import { appendProgressMsg, formatProgressLine, nextProgress } from './progress.js';
import { comparePython } from './python.js';
import { chunks, failDocument, fitText, NOT_CANCELLED, num, secondsSince, str, TOUCH, UNFINISHED_TASK } from './rows.js';
import { RunStatus, type ApplyProgressResult, type ProgressUpdate, type SyncOptions } from './types.js';

// The monitor's side: task progress events into task rows, task rows into document progress.

/** Task types whose progress RAGFlow freezes on already-parsed documents (PIPELINE_SPECIAL_PROGRESS_FREEZE_TASK_TYPES). */
const FREEZE_TASK_TYPES = new Set(['raptor', 'graphrag', 'mindmap', 'wiki', 'artifact', 'skill']);

/**
 * RAGFlow's `set_progress` + `TaskService.update_progress` (docs/ragflow-compatibility.md §8 Task
 * progress) for a batch of events in one transaction: one read and one write per task however
 * many events it has, so MySQL load follows the number of tasks, not events. Unknown task ids
 * are skipped and reported.
 */
export async function applyProgress(c: TaskDbConnection, updates: readonly ProgressUpdate[]): Promise<ApplyProgressResult> {
  const byTask = new Map<string, ProgressUpdate[]>();
  for (const u of updates) {
    const list = byTask.get(u.taskId);
    if (list) list.push(u);
    else byTask.set(u.taskId, [u]);
  }
  if (byTask.size === 0) return { unknown: [] };
  const ids = [...byTask.keys()].sort();
  return c.tx('applyProgress', async (conn) => {
    const found = new Map<string, Row>();
    for (const part of chunks(ids)) {
      // One locking read in id order: concurrent writers lock the same rows in the same order.
      for (const r of await c.rows(conn, 'SELECT id, doc_id, progress, progress_msg FROM task WHERE id IN (?) ORDER BY id FOR UPDATE', [part])) {
        found.set(str(r['id']), r);
      }
    }
    const failedDocs = new Map<string, string>();
    for (const id of ids) {
      const r = found.get(id);
      if (!r) continue;
      // a done task takes no more lines: they can only come from a stale copy of its work (a
      // delivery that outlived its ack wait on another replica), after the done line (RAGFlow #18381)
      if (num(r['progress']) >= 1) continue;
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
      await c.exec(
        conn,
        `UPDATE task SET progress_msg = ?, progress = ?,
           process_duration = IF(begin_at IS NULL, process_duration, ${secondsSince('begin_at')}), ${TOUCH}
         WHERE id = ?`,
        [msg, progress, id],
      );
      if (failed) failedDocs.set(str(r['doc_id']), msg);
    }
    for (const docId of [...failedDocs.keys()].sort()) await failDocument(c, conn, docId, failedDocs.get(docId));
    return { unknown: ids.filter((id) => !found.has(id)) };
  });
}

/**
 * RAGFlow's `DocumentService._sync_progress` (docs/ragflow-compatibility.md §9 Progress sync
 * (document aggregation)): document progress is the mean of its tasks (failures count 0),
 * done/failed once no task is in [0,1), messages are the sorted task logs. Cancelled documents
 * are skipped. Without ids: RAGFlow's unfinished docs. Returns the number of documents written.
 */
export async function syncDocuments(c: TaskDbConnection, docIds?: readonly string[], opts: SyncOptions = {}): Promise<number> {
  return c.run('syncDocuments', async () => {
    let docs: Row[];
    if (docIds) {
      docs = [];
      for (const part of chunks([...new Set(docIds)])) {
        docs.push(...(await c.rows(c.pool, 'SELECT id, progress, run FROM document WHERE id IN (?)', [part])));
      }
    } else {
      docs = await c.rows(
        c.pool,
        `SELECT id, progress, run FROM document
         WHERE status = '1' AND type <> 'virtual' AND ${NOT_CANCELLED}
           AND ((progress < 1 AND progress > 0) OR id IN (SELECT doc_id FROM task WHERE ${UNFINISHED_TASK()}))`,
      );
    }
    docs = docs.filter((d) => d['run'] !== RunStatus.CANCEL);
    let written = 0;
    // One short transaction per document: its tasks are read with locks and the document written
    // in the same transaction. A writer that failed a task meanwhile (the bridge, applyProgress)
    // otherwise had its run '4' overwritten with this pass's stale '1', and the document stayed
    // running for good. Per document, so no pass holds many task rows at once.
    for (const d of docs) written += await c.tx('syncDocuments', (conn) => syncPart(c, conn, [d], opts));
    return written;
  });
}

/** syncDocuments for some documents, inside the caller's transaction. */
async function syncPart(c: TaskDbConnection, conn: PoolConnection, part: readonly Row[], opts: SyncOptions): Promise<number> {
  let written = 0;
  const tasks = await c.rows(
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
    await c.exec(
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
