import type { TaskDbConnection } from './connection.js';
import { str } from './rows.js';
import { createDatabaseSql, createTableSql, indexName, quoteIdent, TABLES } from './schema.js';

/**
 * Creates the database if missing, RAGFlow's tables (task, document, knowledgebase, tenant,
 * file, file2document) and Ragline's; adds columns and indexes missing from existing tables.
 * Idempotent; never drops or alters existing columns, so it is safe against a database RAGFlow
 * itself created and runs.
 */
export async function migrate(c: TaskDbConnection): Promise<void> {
  await c.onServer('migrate', (admin) => admin.query(createDatabaseSql(c.options.database)));
  // Replicas start together: one at a time, or two would race to add the same column.
  await c.withNamedLock('migrate', 'migrate', async (conn) => {
    for (const t of TABLES) await c.exec(conn, createTableSql(t));
    const existing = await c.rows(conn, 'SELECT TABLE_NAME AS t, COLUMN_NAME AS c FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE()');
    const have = new Set(existing.map((r) => `${str(r['t'])}.${str(r['c'])}`));
    const indexed = await c.rows(
      conn,
      'SELECT TABLE_NAME AS t, COLUMN_NAME AS c FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND SEQ_IN_INDEX = 1',
    );
    const haveIndex = new Set(indexed.map((r) => `${str(r['t'])}.${str(r['c'])}`));
    for (const t of TABLES) {
      for (const col of t.columns) {
        if (!have.has(`${t.name}.${col.name}`)) {
          await c.exec(conn, `ALTER TABLE ${quoteIdent(t.name)} ADD COLUMN ${quoteIdent(col.name)} ${col.ddl}`);
        }
        if (col.index && !haveIndex.has(`${t.name}.${col.name}`)) {
          await c.exec(conn, `ALTER TABLE ${quoteIdent(t.name)} ADD INDEX ${quoteIdent(indexName(t.name, col.name))} (${quoteIdent(col.name)})`);
        }
      }
    }
  });
}
