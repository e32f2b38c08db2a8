import { connectionOf, TaskDb } from './taskdb.js';
import type { TaskPlan } from './plan.js';
import { applyProgress } from './progress-sync.js';
import { beginToParse, chunkingConfig, insertTasks } from './ragflow-api.js';
import { STORAGE_ADDRESS_COLUMNS, STORAGE_ADDRESS_JOIN, storageAddress, type StorageAddress } from './storage-address.js';
import { quoteIdent } from './schema.js';
import type { ChunkingConfig, QueuedTask, TaskDbOptions } from './types.js';

// `@ragline/taskdb/testing`: what tests and benches need and production never calls. Kept out
// of the package root so no production caller can reach DROP DATABASE or raw SQL by accident.

/** Drops the TaskDb's database (tests and throwaway environments only). */
export async function dropDatabase(db: TaskDb): Promise<void> {
  const c = connectionOf(db);
  await c.onServer('dropDatabase', (conn) => conn.query(`DROP DATABASE IF EXISTS ${quoteIdent(c.options.database)}`));
}

/**
 * Runs one statement on the TaskDb's pool, for rows only RAGFlow's other services write (file
 * manager links, hand-set task states) in packages without a MySQL driver of their own.
 */
export async function rawQuery(db: TaskDb, sql: string, params: unknown[] = []): Promise<unknown> {
  const c = connectionOf(db);
  return c.run('rawQuery', async () => (await c.pool.query(sql, params))[0]);
}

/** A document's object-store address, by the same rule receiveTask applies (null for an unknown document). */
export async function getStorageAddress(db: TaskDb, docId: string): Promise<StorageAddress | null> {
  const c = connectionOf(db);
  return c.run('getStorageAddress', async () => {
    const [r] = await c.rows(c.pool, `SELECT ${STORAGE_ADDRESS_COLUMNS} FROM document d ${STORAGE_ADDRESS_JOIN} WHERE d.id = ? LIMIT 1`, [docId]);
    return r ? storageAddress(r) : null;
  });
}

/** Fails a task (progress -1, `[ERROR]` line) and its document, as RAGFlow's set_progress(prog=-1). */
export async function failTask(db: TaskDb, taskId: string, msg: string, pageRange?: { from: number; to: number } | null): Promise<boolean> {
  const res = await applyProgress(connectionOf(db), [{ taskId, progress: -1, msg, pageRange }]);
  return res.unknown.length === 0;
}

/**
 * A TaskDb with the test-only operations as methods, plus the steps of queueDocument on their
 * own (insertTasks, beginToParse, chunkingConfig), for tests that exercise them one by one.
 */
export class TestTaskDb extends TaskDb {
  dropDatabase(): Promise<void> {
    return dropDatabase(this);
  }

  getStorageAddress(docId: string): Promise<StorageAddress | null> {
    return getStorageAddress(this, docId);
  }

  failTask(taskId: string, msg: string, pageRange?: { from: number; to: number } | null): Promise<boolean> {
    return failTask(this, taskId, msg, pageRange);
  }

  /** RAGFlow's bulk_insert_into_db for tasks (upsert by id); returns the Redis queue messages. */
  insertTasks(tasks: readonly TaskPlan[]): Promise<QueuedTask[]> {
    return insertTasks(connectionOf(this), tasks);
  }

  beginToParse(docId: string): Promise<boolean> {
    return beginToParse(connectionOf(this), docId);
  }

  chunkingConfig(docId: string): Promise<ChunkingConfig | null> {
    return chunkingConfig(connectionOf(this), docId);
  }
}

export function createTestTaskDb(opts: TaskDbOptions = {}): TestTaskDb {
  return new TestTaskDb(opts);
}
