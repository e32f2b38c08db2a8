import type { PageRange } from './progress.js';

/** document.run values (RAGFlow `TaskStatus`). */
export const RunStatus = {
  UNSTART: '0',
  RUNNING: '1',
  CANCEL: '2',
  DONE: '3',
  FAIL: '4',
  SCHEDULE: '5',
} as const;
export type RunStatus = (typeof RunStatus)[keyof typeof RunStatus];

export interface TaskDbOptions {
  /** `mysql://user:pass@host:port/db`; explicit fields below win over it */
  url?: string;
  /** default 127.0.0.1 */
  host?: string;
  /** default 3306 */
  port?: number;
  /** default root */
  user?: string;
  /** default '' */
  password?: string;
  /** default `rag_flow` (RAGFlow's database) */
  database?: string;
  /** passed to mysql2 as-is (e.g. `{ ca, rejectUnauthorized }`) */
  ssl?: object;
  /** pool size, default 10 */
  connectionLimit?: number;
  /** attempts of a transaction that hit a deadlock or lock-wait timeout, default 3 */
  transactionAttempts?: number;
}

/**
 * What the consumer needs to run a task: RAGFlow's get_task join
 * (docs/ragflow-compatibility.md §6 The get_task join and the retry limit).
 */
export interface TaskRow {
  task_id: string;
  doc_id: string;
  kb_id: string;
  tenant_id: string;
  task_type: string;
  from_page: number;
  to_page: number;
  priority: number;
  /** after this delivery's increment */
  retry_count: number;
  parser_id: string;
  /** document.parser_config merged over knowledgebase.parser_config */
  parser_config: Record<string, unknown>;
  kb_parser_config: Record<string, unknown>;
  doc_name: string;
  doc_type: string;
  /** storage address (RAGFlow get_storage_address): bucket and object name */
  bucket: string;
  location: string;
  size: number;
  language: string;
  /** knowledgebase.embd_id, else the tenant's default */
  embd_id: string;
  tenant_embd_id: number | null;
  pagerank: number;
  img2txt_id: string;
  asr_id: string;
  llm_id: string;
  digest: string;
  begin_at: string | null;
}

export type ReceiveResult =
  /**
   * no such task, or (`orphan`) a task row whose document, knowledge base or tenant is gone: the
   * caller can fail that row with a reason instead of leaving it queued forever
   */
  | { status: 'unknown'; orphan?: { missing: 'document' | 'knowledgebase' | 'tenant'; id: string } }
  | { status: 'done' }
  | { status: 'cancelled' }
  | { status: 'failed' }
  | { status: 'abandoned'; message: string }
  | { status: 'ok'; task: TaskRow };

export interface ReceiveOptions {
  /** deliveries after which the task is abandoned (RAGFlow: 3) */
  maxAttempts?: number;
  /**
   * A task already at progress -1 is left alone (`{status:'failed'}`) unless this is true; then it
   * is received again as RAGFlow does (progress reset, retry counted). Default false.
   */
  retryFailed?: boolean;
}

export interface ProgressUpdate {
  taskId: string;
  /** new progress (RAGFlow rules: monotonic, -1 sticky); null/undefined leaves it */
  progress?: number | null;
  /** a line for progress_msg; the time and page prefixes are added here */
  msg?: string;
  pageRange?: PageRange | null;
  /** when the event happened (default now): the line's HH:MM:SS */
  at?: Date;
}

export interface ApplyProgressResult {
  /** task ids that have no row (their updates were dropped) */
  unknown: string[];
}

export interface CompleteTotals {
  chunks: number;
  tokens: number;
  /** elapsed time for the message and process_duration; default now - task.begin_at */
  durationMs?: number;
  /** progress line instead of `Task done (X.XXs)` */
  msg?: string;
}

export interface RecordBatchOptions {
  /**
   * Also append the ids to task.chunk_ids right away (RAGFlow keeps them current so a failed
   * task's chunks can be cleaned up). Default true; completeTask rewrites them in batch order.
   */
  appendToTask?: boolean;
}

export interface TaskRecord {
  id: string;
  doc_id: string;
  from_page: number;
  to_page: number;
  task_type: string;
  priority: number;
  begin_at: string | null;
  process_duration: number;
  progress: number;
  progress_msg: string;
  retry_count: number;
  digest: string;
  chunk_ids: string;
  create_time: number | null;
  create_date: string | null;
  update_time: number | null;
  update_date: string | null;
}

export interface TaskSummary extends Omit<TaskRecord, 'chunk_ids'> {
  kb_id: string | null;
  doc_name: string | null;
}

export interface DocumentRow {
  id: string;
  kb_id: string;
  parser_id: string;
  parser_config: Record<string, unknown>;
  source_type: string;
  type: string;
  created_by: string;
  name: string | null;
  location: string | null;
  size: number;
  token_num: number;
  chunk_num: number;
  progress: number;
  progress_msg: string;
  process_begin_at: string | null;
  process_duration: number;
  suffix: string;
  content_hash: string | null;
  run: string | null;
  status: string | null;
  create_time: number | null;
  create_date: string | null;
  update_time: number | null;
  update_date: string | null;
}

export interface KnowledgebaseRow {
  id: string;
  tenant_id: string;
  name: string;
  language: string | null;
  embd_id: string;
  tenant_embd_id: number | null;
  permission: string;
  created_by: string;
  doc_num: number;
  token_num: number;
  chunk_num: number;
  parser_id: string;
  parser_config: Record<string, unknown>;
  pagerank: number;
  similarity_threshold: number;
  /** RAGFlow's hybrid fusion weight of the vector side (default 0.3) */
  vector_similarity_weight: number;
  status: string | null;
  create_time: number | null;
  create_date: string | null;
  update_time: number | null;
  update_date: string | null;
}

export interface DocumentProgress {
  id: string;
  kb_id: string;
  name: string | null;
  progress: number;
  run: string | null;
  progress_msg: string;
  chunk_num: number;
  token_num: number;
  process_begin_at: string | null;
  process_duration: number;
}

/** RAGFlow's get_chunking_config: the inputs of the task digest. */
export interface ChunkingConfig {
  id: string;
  kb_id: string;
  parser_id: string;
  parser_config: Record<string, unknown>;
  size: number;
  content_hash: string | null;
  language: string | null;
  embd_id: string;
  tenant_id: string;
  img2txt_id: string;
  asr_id: string;
  llm_id: string;
  [key: string]: unknown;
}

/** The Redis queue message RAGFlow's `queue_tasks` writes, key order kept (docs/ragflow-compatibility.md §4 Redis queue message). */
export interface QueuedTask {
  id: string;
  doc_id: string;
  progress: number;
  from_page: number;
  to_page: number;
  begin_at: string;
  digest: string;
  priority: number;
  create_time: number;
  create_date: string;
  update_time: number;
  update_date: string;
}

export interface SyncOptions {
  /**
   * For a document whose tasks have no message yet RAGFlow writes "N tasks are ahead in the
   * queue..." with N from the Redis stream; give N here (the document id lets the caller count only
   * what is ahead of that document's own entries). Without it the message is left as is.
   */
  queueAhead?: (priority: number, docId: string) => number | Promise<number>;
}
