import { randomBytes } from 'node:crypto';
import { createConnection, type Connection, type RowDataPacket } from 'mysql2/promise';
import type { DocumentRow, KnowledgebaseRow, QueuedTask, TaskDb } from '../src/index.js';
import { createTestTaskDb, type TestTaskDb } from '../src/testing.js';

export const MYSQL = { host: '127.0.0.1', port: 3306, user: 'root', password: '' };

export interface TestDb {
  db: TestTaskDb;
  raw: Connection;
  database: string;
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  cleanup(): Promise<void>;
}

/** A fresh, migrated database `ragline_t_<random>`; cleanup() drops it. */
export async function freshDb(): Promise<TestDb> {
  const database = `ragline_t_${randomBytes(6).toString('hex')}`;
  const db = createTestTaskDb({ ...MYSQL, database, connectionLimit: 8 });
  await db.migrate();
  const raw = await createConnection({ ...MYSQL, database, dateStrings: true, decimalNumbers: true });
  return {
    db,
    raw,
    database,
    async query<T>(sql: string, params: unknown[] = []) {
      const [rows] = await raw.query<RowDataPacket[]>(sql, params);
      return rows as T[];
    },
    async cleanup() {
      await db.close();
      await raw.query(`DROP DATABASE IF EXISTS \`${database}\``);
      await raw.end();
    },
  };
}

export interface Seeded {
  tenantId: string;
  kb: KnowledgebaseRow;
  doc: DocumentRow;
  tasks: QueuedTask[];
}

/** Tenant, knowledge base, one document and its queued tasks, through the producer API. */
export async function seedDocument(
  db: TaskDb,
  opts: { type?: string; parserId?: string; pages?: number; parserConfig?: Record<string, unknown>; kbName?: string } = {},
): Promise<Seeded> {
  const tenantId = await db.ensureTenant({ name: 'test-tenant', embdId: 'BAAI/bge-m3@Builtin' });
  const kb = await db.ensureKnowledgebase({
    name: opts.kbName ?? 'kb',
    tenantId,
    embdId: 'BAAI/bge-m3@Builtin',
    parserConfig: { pages: [[1, 1000000]], chunk_token_num: 128, filename_embd_weight: 0.1 },
  });
  const type = opts.type ?? 'doc';
  const doc = await db.createDocument({
    kbId: kb.id,
    name: type === 'pdf' ? 'paper.pdf' : 'notes.txt',
    location: type === 'pdf' ? 'paper.pdf' : 'notes.txt',
    size: 1234,
    type,
    suffix: type === 'pdf' ? 'pdf' : 'txt',
    parserId: opts.parserId ?? 'naive',
    parserConfig: opts.parserConfig ?? { chunk_token_num: 256, delimiter: '\n' },
  });
  const tasks = await db.queueDocument(doc.id, { pages: opts.pages });
  return { tenantId, kb, doc, tasks };
}
