import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIGRATION_SQL, TABLES, TaskDbError, createTaskDb } from '../src/index.js';
import { freshDb, type TestDb } from './helpers.js';

let t: TestDb;
beforeAll(async () => {
  t = await freshDb();
});
afterAll(async () => {
  await t?.cleanup();
});

async function columns(table: string): Promise<Map<string, Record<string, unknown>>> {
  const rows = await t.query<Record<string, unknown>>(
    'SELECT COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?',
    [t.database, table],
  );
  return new Map(rows.map((r) => [String(r['COLUMN_NAME']), r]));
}

describe('migrate', () => {
  it('creates RAGFlow and Ragline tables with RAGFlow column names and types', async () => {
    const tables = await t.query<{ TABLE_NAME: string }>('SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?', [t.database]);
    expect(tables.map((r) => r.TABLE_NAME).sort()).toEqual(
      ['document', 'file', 'file2document', 'knowledgebase', 'ragline_task_batch', 'ragline_task_completion', 'task', 'tenant'].sort(),
    );
    const task = await columns('task');
    for (const c of ['id', 'doc_id', 'from_page', 'to_page', 'task_type', 'priority', 'begin_at', 'process_duration', 'progress', 'progress_msg',
      'retry_count', 'digest', 'chunk_ids', 'create_time', 'create_date', 'update_time', 'update_date']) {
      expect(task.has(c), c).toBe(true);
    }
    expect(String(task.get('chunk_ids')!['COLUMN_TYPE'])).toBe('longtext');
    expect(String(task.get('create_time')!['COLUMN_TYPE'])).toMatch(/^bigint/);
    expect(String(task.get('begin_at')!['COLUMN_TYPE'])).toBe('datetime');
    expect(String(task.get('to_page')!['COLUMN_DEFAULT'])).toBe('100000000');
    const doc = await columns('document');
    expect(String(doc.get('kb_id')!['COLUMN_TYPE'])).toBe('varchar(256)');
    expect(String(doc.get('run')!['COLUMN_DEFAULT'])).toContain('0');
  });

  it('is idempotent', async () => {
    await t.db.migrate();
    await t.db.migrate();
    const task = await columns('task');
    expect(task.size).toBe(TABLES.find((x) => x.name === 'task')!.columns.length);
  });

  it('adds missing columns and indexes to existing tables, keeping their data', async () => {
    await t.raw.query("INSERT INTO task (id, doc_id, progress_msg, digest, chunk_ids) VALUES ('keep', 'd', 'm', 'x', '')");
    await t.raw.query('ALTER TABLE task DROP COLUMN retry_count, DROP INDEX task_progress');
    await t.db.migrate();
    const task = await columns('task');
    expect(task.has('retry_count')).toBe(true);
    const idx = await t.query("SELECT 1 FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'task' AND COLUMN_NAME = 'progress'", [t.database]);
    expect(idx.length).toBe(1);
    const rows = await t.query<{ id: string; retry_count: number }>("SELECT id, retry_count FROM task WHERE id = 'keep'");
    expect(rows).toEqual([{ id: 'keep', retry_count: 0 }]);
    await t.raw.query("DELETE FROM task WHERE id = 'keep'");
  });

  it('exports the DDL', () => {
    expect(MIGRATION_SQL).toContain('CREATE TABLE IF NOT EXISTS `task`');
    expect(MIGRATION_SQL).toContain('CREATE TABLE IF NOT EXISTS `ragline_task_completion`');
    expect(MIGRATION_SQL).toContain('PRIMARY KEY (`task_id`, `batch_no`)');
  });
});

describe('connection errors', () => {
  it('are retryable TaskDbErrors without the password', async () => {
    const db = createTaskDb({ url: 'mysql://root:sup3rs3cret@127.0.0.1:1/rag_flow' });
    const err = await db.getTask('x').catch((e: unknown) => e);
    await db.close();
    expect(err).toBeInstanceOf(TaskDbError);
    expect((err as TaskDbError).retryable).toBe(true);
    expect((err as TaskDbError).code).toBe('ECONNREFUSED');
    expect(String((err as Error).message)).not.toContain('sup3rs3cret');
  });

  it('access denied is not retryable and does not leak the password', async () => {
    const db = createTaskDb({ host: '127.0.0.1', user: 'no_such_user_ragline', password: 'hunter2hunter2', database: 'rag_flow' });
    const err = await db.getTask('x').catch((e: unknown) => e);
    await db.close();
    expect(err).toBeInstanceOf(TaskDbError);
    expect((err as TaskDbError).retryable).toBe(false);
    expect(JSON.stringify({ m: (err as Error).message, c: String((err as Error).cause) })).not.toContain('hunter2hunter2');
  });
});
