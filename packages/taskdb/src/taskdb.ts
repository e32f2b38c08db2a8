import { completeTask, indexedBatchCount, recordIndexedBatch } from './completion.js';
import { TaskDbConnection, type ResolvedOptions } from './connection.js';
import { migrate } from './migrate.js';
import type { PlanInfo } from './plan.js';
import { applyProgress, syncDocuments } from './progress-sync.js';
import { documentProgress, findKnowledgebaseByName, getDocument, getKnowledgebase, getTask, listTasks, unfinishedTasks, type TaskStateFilter } from './queries.js';
import {
  createDocument,
  ensureKnowledgebase,
  ensureTenant,
  queueDocument,
  type CreateDocumentOptions,
  type EnsureKnowledgebaseOptions,
  type EnsureTenantOptions,
} from './ragflow-api.js';
import { receiveTask } from './receive.js';
import type {
  ApplyProgressResult,
  CompleteTotals,
  DocumentProgress,
  DocumentRow,
  KnowledgebaseRow,
  ProgressUpdate,
  QueuedTask,
  ReceiveOptions,
  ReceiveResult,
  RecordBatchOptions,
  SyncOptions,
  TaskDbOptions,
  TaskRecord,
  TaskSummary,
} from './types.js';

const connections = new WeakMap<TaskDb, TaskDbConnection>();

/** The connection under a TaskDb, for the test support module (not exported from the package root). */
export function connectionOf(db: TaskDb): TaskDbConnection {
  const c = connections.get(db);
  if (!c) throw new TypeError('taskdb: not a TaskDb');
  return c;
}

/**
 * The MySQL layer: RAGFlow's schema and progress semantics plus Ragline's exactly-once
 * bookkeeping. One object over one pool for the production callers; the SQL lives in a module
 * per caller (receive, progress-sync, completion, queries, ragflow-api, migrate).
 */
export class TaskDb {
  readonly options: Readonly<Omit<ResolvedOptions, 'password'>>;
  readonly #c: TaskDbConnection;

  constructor(opts: TaskDbOptions = {}) {
    this.#c = new TaskDbConnection(opts);
    this.options = this.#c.options;
    connections.set(this, this.#c);
  }

  // ---------------------------------------------------------------- lifecycle (every app)

  migrate(): Promise<void> {
    return migrate(this.#c);
  }

  /**
   * Checks the server answers (readiness probes, `ragline up`); connects without selecting the
   * database so it also works before `migrate` created it.
   */
  async ping(): Promise<void> {
    await this.#c.onServer('ping', (conn) => conn.query('SELECT 1'), 3000);
  }

  /** Closes the pool; in-flight queries finish first. */
  close(): Promise<void> {
    return this.#c.close();
  }

  // ---------------------------------------------------------------- ingest bridge

  receiveTask(taskId: string, opts?: ReceiveOptions): Promise<ReceiveResult> {
    return receiveTask(this.#c, taskId, opts);
  }

  // ---------------------------------------------------------------- monitor

  applyProgress(updates: readonly ProgressUpdate[]): Promise<ApplyProgressResult> {
    return applyProgress(this.#c, updates);
  }

  syncDocuments(docIds?: readonly string[], opts?: SyncOptions): Promise<number> {
    return syncDocuments(this.#c, docIds, opts);
  }

  recordIndexedBatch(taskId: string, batchNo: number, chunkIds: readonly string[], tokens: number, opts?: RecordBatchOptions): Promise<boolean> {
    return recordIndexedBatch(this.#c, taskId, batchNo, chunkIds, tokens, opts);
  }

  indexedBatchCount(taskId: string): Promise<number> {
    return indexedBatchCount(this.#c, taskId);
  }

  completeTask(taskId: string, totals: CompleteTotals): Promise<boolean> {
    return completeTask(this.#c, taskId, totals);
  }

  // ---------------------------------------------------------------- reads

  getTask(id: string): Promise<TaskRecord | null> {
    return getTask(this.#c, id);
  }

  getDocument(id: string): Promise<DocumentRow | null> {
    return getDocument(this.#c, id);
  }

  getKnowledgebase(id: string): Promise<KnowledgebaseRow | null> {
    return getKnowledgebase(this.#c, id);
  }

  listTasks(opts?: TaskStateFilter): Promise<TaskSummary[]> {
    return listTasks(this.#c, opts);
  }

  documentProgress(docIds: readonly string[]): Promise<DocumentProgress[]> {
    return documentProgress(this.#c, docIds);
  }

  unfinishedTasks(olderThanMs?: number, limit?: number): Promise<TaskSummary[]> {
    return unfinishedTasks(this.#c, olderThanMs, limit);
  }

  findKnowledgebaseByName(name: string, tenantId?: string): Promise<KnowledgebaseRow | null> {
    return findKnowledgebaseByName(this.#c, name, tenantId);
  }

  // ---------------------------------------------------------------- RAGFlow API emulation (ragline ingest)

  ensureTenant(opts: EnsureTenantOptions): Promise<string> {
    return ensureTenant(this.#c, opts);
  }

  ensureKnowledgebase(opts: EnsureKnowledgebaseOptions): Promise<KnowledgebaseRow> {
    return ensureKnowledgebase(this.#c, opts);
  }

  createDocument(opts: CreateDocumentOptions): Promise<DocumentRow> {
    return createDocument(this.#c, opts);
  }

  queueDocument(docId: string, info?: PlanInfo, opts?: { priority?: number }): Promise<QueuedTask[]> {
    return queueDocument(this.#c, docId, info, opts);
  }
}

/** Creates a TaskDb over a mysql2 pool (nothing connects until the first query). */
export function createTaskDb(opts: TaskDbOptions = {}): TaskDb {
  return new TaskDb(opts);
}
