import type { Queryable, TaskDbConnection } from './connection.js';
import { appendProgressMsg, clockTime } from './progress.js';
import { failDocument, fitText, num, numOrNull, parseJsonObject, str, strOrNull, TOUCH } from './rows.js';
import { STORAGE_ADDRESS_COLUMNS, STORAGE_ADDRESS_JOIN, storageAddress } from './storage-address.js';
import { RunStatus, type ReceiveOptions, type ReceiveResult, type TaskRow } from './types.js';

// The ingest bridge's side: taking delivery of a task from RAGFlow's Redis queue.

export const ABANDON_MESSAGE = (attempts: number) => `ERROR: Task is abandoned after ${attempts} times attempts.`;
export const RECEIVED_MESSAGE = 'Task has been received.';

/**
 * RAGFlow's `TaskService.get_task` on delivery (docs/ragflow-compatibility.md §6 The get_task join
 * and the retry limit): the task joined with its document, knowledge base and tenant, in one
 * transaction holding the task row lock. Counts the delivery in retry_count and logs it; abandons
 * the task (and fails its document) once it was delivered `maxAttempts` times. Finished, failed
 * and cancelled tasks are reported, not touched.
 */
export async function receiveTask(c: TaskDbConnection, taskId: string, opts: ReceiveOptions = {}): Promise<ReceiveResult> {
  const maxAttempts = opts.maxAttempts ?? 3;
  return c.tx('receiveTask', async (conn) => {
    const locked = await c.rows(conn, 'SELECT id FROM task WHERE id = ? FOR UPDATE', [taskId]);
    if (locked.length === 0) return { status: 'unknown' };
    const [r] = await c.rows(
      conn,
      `SELECT t.id AS task_id, t.doc_id, t.from_page, t.to_page, t.task_type, t.priority, t.retry_count, t.progress,
          t.progress_msg, t.digest, d.kb_id, d.parser_id, d.parser_config, d.name AS doc_name, d.type AS doc_type,
          d.size, d.run, k.tenant_id, k.language, k.embd_id, k.tenant_embd_id, k.pagerank,
          k.parser_config AS kb_parser_config, tn.img2txt_id, tn.asr_id, tn.llm_id, tn.embd_id AS tenant_default_embd_id,
          ${STORAGE_ADDRESS_COLUMNS}
       FROM task t
       JOIN document d ON d.id = t.doc_id
       JOIN knowledgebase k ON k.id = d.kb_id
       JOIN tenant tn ON tn.id = k.tenant_id
       ${STORAGE_ADDRESS_JOIN}
       WHERE t.id = ? LIMIT 1`,
      [taskId],
    );
    if (!r) return { status: 'unknown', orphan: await missingParent(c, conn, taskId) };
    const progress = num(r['progress']);
    if (progress >= 1) return { status: 'done' };
    if (r['run'] === RunStatus.CANCEL) return { status: 'cancelled' };
    if (progress === -1 && !opts.retryFailed) return { status: 'failed' };

    const retryCount = num(r['retry_count']);
    if (retryCount >= maxAttempts) {
      const message = ABANDON_MESSAGE(maxAttempts);
      await c.exec(conn, `UPDATE task SET progress_msg = ?, progress = -1, retry_count = retry_count + 1, ${TOUCH} WHERE id = ?`, [
        fitText(appendProgressMsg(str(r['progress_msg']), message)),
        taskId,
      ]);
      await failDocument(c, conn, r['doc_id']);
      return { status: 'abandoned', message };
    }

    await c.exec(
      conn,
      `UPDATE task SET progress_msg = ?, progress = ?, retry_count = retry_count + 1, begin_at = COALESCE(begin_at, NOW()), ${TOUCH} WHERE id = ?`,
      [fitText(appendProgressMsg(str(r['progress_msg']), `${clockTime()} ${RECEIVED_MESSAGE}`)), Math.random() / 10, taskId],
    );
    const [after] = await c.rows(conn, 'SELECT begin_at FROM task WHERE id = ?', [taskId]);

    const kbParserConfig = parseJsonObject(r['kb_parser_config']);
    const address = storageAddress(r);
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
      // the document's parser_config over its knowledge base's
      parser_config: { ...kbParserConfig, ...parseJsonObject(r['parser_config']) },
      kb_parser_config: kbParserConfig,
      doc_name: str(r['doc_name']),
      doc_type: str(r['doc_type']),
      bucket: address.bucket,
      location: address.name,
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
async function missingParent(
  c: TaskDbConnection,
  conn: Queryable,
  taskId: string,
): Promise<{ missing: 'document' | 'knowledgebase' | 'tenant'; id: string }> {
  const [r] = await c.rows(
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
