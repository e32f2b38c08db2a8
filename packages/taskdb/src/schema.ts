/**
 * RAGFlow's tables (api/db/db_models.py, the subset Ragline reads and writes) and Ragline's
 * own bookkeeping tables. Peewee gives every column NOT NULL unless `null=True` and keeps
 * defaults in Python; we add SQL defaults on non-TEXT columns so other writers get RAGFlow's
 * values too (MySQL 8 does not allow literal defaults on TEXT columns).
 */
export interface ColumnDef {
  name: string;
  /** type and constraints, e.g. `VARCHAR(32) NOT NULL DEFAULT ''` */
  ddl: string;
  /** peewee `index=True` */
  index?: boolean;
}

export interface TableDef {
  name: string;
  columns: ColumnDef[];
  primaryKey: string[];
}

const col = (name: string, ddl: string, index = false): ColumnDef => ({ name, ddl, index });

/** BaseModel's timestamps: ms epoch ints and "YYYY-MM-DD HH:MM:SS" datetimes, all indexed. */
const baseColumns: ColumnDef[] = [
  col('create_time', 'BIGINT NULL', true),
  col('create_date', 'DATETIME NULL', true),
  col('update_time', 'BIGINT NULL', true),
  col('update_date', 'DATETIME NULL', true),
];

const DEFAULT_PARSER_CONFIG_NOTE = 'JSON; RAGFlow default {"pages": [[1, 1000000]], "table_context_size": 0, "image_context_size": 0}';

export const TABLES: TableDef[] = [
  {
    name: 'tenant',
    primaryKey: ['id'],
    columns: [
      col('id', 'VARCHAR(32) NOT NULL'),
      ...baseColumns,
      col('name', 'VARCHAR(100) NULL', true),
      col('public_key', 'VARCHAR(255) NULL', true),
      col('llm_id', "VARCHAR(128) NOT NULL DEFAULT ''", true),
      col('tenant_llm_id', 'INT NULL', true),
      col('embd_id', "VARCHAR(128) NOT NULL DEFAULT ''", true),
      col('tenant_embd_id', 'INT NULL', true),
      col('asr_id', "VARCHAR(128) NOT NULL DEFAULT ''", true),
      col('tenant_asr_id', 'INT NULL', true),
      col('img2txt_id', "VARCHAR(128) NOT NULL DEFAULT ''", true),
      col('tenant_img2txt_id', 'INT NULL', true),
      col('rerank_id', "VARCHAR(128) NOT NULL DEFAULT ''", true),
      col('tenant_rerank_id', 'INT NULL', true),
      col('tts_id', 'VARCHAR(256) NULL', true),
      col('tenant_tts_id', 'INT NULL', true),
      col('parser_ids', "VARCHAR(256) NOT NULL DEFAULT ''", true),
      col('credit', 'INT NOT NULL DEFAULT 512', true),
      col('status', "VARCHAR(1) NULL DEFAULT '1'", true),
    ],
  },
  {
    name: 'knowledgebase',
    primaryKey: ['id'],
    columns: [
      col('id', 'VARCHAR(32) NOT NULL'),
      ...baseColumns,
      col('avatar', 'TEXT NULL'),
      col('tenant_id', 'VARCHAR(32) NOT NULL', true),
      col('name', 'VARCHAR(128) NOT NULL', true),
      col('language', "VARCHAR(32) NULL DEFAULT 'English'", true),
      col('description', 'TEXT NULL'),
      col('embd_id', 'VARCHAR(128) NOT NULL', true),
      col('tenant_embd_id', 'INT NULL', true),
      col('permission', "VARCHAR(16) NOT NULL DEFAULT 'me'", true),
      col('created_by', 'VARCHAR(32) NOT NULL', true),
      col('doc_num', 'INT NOT NULL DEFAULT 0', true),
      col('token_num', 'INT NOT NULL DEFAULT 0', true),
      col('chunk_num', 'INT NOT NULL DEFAULT 0', true),
      col('similarity_threshold', 'FLOAT NOT NULL DEFAULT 0.2', true),
      col('vector_similarity_weight', 'FLOAT NOT NULL DEFAULT 0.3', true),
      col('parser_id', "VARCHAR(32) NOT NULL DEFAULT 'naive'", true),
      col('pipeline_id', 'VARCHAR(32) NULL', true),
      col('parser_config', `LONGTEXT NOT NULL COMMENT '${DEFAULT_PARSER_CONFIG_NOTE}'`),
      col('pagerank', 'INT NOT NULL DEFAULT 0'),
      col('graphrag_task_id', 'VARCHAR(32) NULL', true),
      col('graphrag_task_finish_at', 'DATETIME NULL'),
      col('raptor_task_id', 'VARCHAR(32) NULL', true),
      col('raptor_task_finish_at', 'DATETIME NULL'),
      col('mindmap_task_id', 'VARCHAR(32) NULL', true),
      col('mindmap_task_finish_at', 'DATETIME NULL'),
      col('status', "VARCHAR(1) NULL DEFAULT '1'", true),
    ],
  },
  {
    name: 'document',
    primaryKey: ['id'],
    columns: [
      col('id', 'VARCHAR(32) NOT NULL'),
      ...baseColumns,
      col('thumbnail', 'TEXT NULL'),
      col('kb_id', 'VARCHAR(256) NOT NULL', true),
      col('parser_id', 'VARCHAR(32) NOT NULL', true),
      col('pipeline_id', 'VARCHAR(32) NULL', true),
      col('parser_config', `LONGTEXT NOT NULL COMMENT '${DEFAULT_PARSER_CONFIG_NOTE}'`),
      col('source_type', "VARCHAR(128) NOT NULL DEFAULT 'local'", true),
      col('type', 'VARCHAR(32) NOT NULL', true),
      col('created_by', 'VARCHAR(32) NOT NULL', true),
      col('name', 'VARCHAR(255) NULL', true),
      col('location', 'VARCHAR(255) NULL', true),
      col('size', 'BIGINT NOT NULL DEFAULT 0', true),
      col('token_num', 'INT NOT NULL DEFAULT 0', true),
      col('chunk_num', 'INT NOT NULL DEFAULT 0', true),
      col('progress', 'FLOAT NOT NULL DEFAULT 0', true),
      col('progress_msg', 'TEXT NULL'),
      col('process_begin_at', 'DATETIME NULL', true),
      col('process_duration', 'FLOAT NOT NULL DEFAULT 0'),
      col('suffix', 'VARCHAR(32) NOT NULL', true),
      col('content_hash', "VARCHAR(32) NULL DEFAULT ''", true),
      col('run', "VARCHAR(1) NULL DEFAULT '0'", true),
      col('status', "VARCHAR(1) NULL DEFAULT '1'", true),
    ],
  },
  {
    name: 'file',
    primaryKey: ['id'],
    columns: [
      col('id', 'VARCHAR(32) NOT NULL'),
      ...baseColumns,
      col('parent_id', 'VARCHAR(32) NOT NULL', true),
      col('tenant_id', 'VARCHAR(32) NOT NULL', true),
      col('created_by', 'VARCHAR(32) NOT NULL', true),
      col('name', 'VARCHAR(255) NOT NULL', true),
      col('location', 'VARCHAR(255) NULL', true),
      col('size', 'BIGINT NOT NULL DEFAULT 0', true),
      col('type', 'VARCHAR(32) NOT NULL', true),
      col('source_type', "VARCHAR(128) NOT NULL DEFAULT ''", true),
    ],
  },
  {
    name: 'file2document',
    primaryKey: ['id'],
    columns: [
      col('id', 'VARCHAR(32) NOT NULL'),
      ...baseColumns,
      col('file_id', 'VARCHAR(32) NULL', true),
      col('document_id', 'VARCHAR(32) NULL', true),
    ],
  },
  {
    name: 'task',
    primaryKey: ['id'],
    columns: [
      col('id', 'VARCHAR(32) NOT NULL'),
      ...baseColumns,
      col('doc_id', 'VARCHAR(32) NOT NULL', true),
      col('from_page', 'INT NOT NULL DEFAULT 0'),
      col('to_page', 'INT NOT NULL DEFAULT 100000000'),
      col('task_type', "VARCHAR(32) NOT NULL DEFAULT ''"),
      col('priority', 'INT NOT NULL DEFAULT 0'),
      col('begin_at', 'DATETIME NULL', true),
      col('process_duration', 'FLOAT NOT NULL DEFAULT 0'),
      col('progress', 'FLOAT NOT NULL DEFAULT 0', true),
      col('progress_msg', 'TEXT NULL'),
      col('retry_count', 'INT NOT NULL DEFAULT 0'),
      col('digest', 'TEXT NULL'),
      col('chunk_ids', 'LONGTEXT NULL'),
    ],
  },
  {
    // Ragline: one row per indexed batch, so a redelivered batch is counted once.
    name: 'ragline_task_batch',
    primaryKey: ['task_id', 'batch_no'],
    columns: [
      col('task_id', 'VARCHAR(64) NOT NULL'),
      col('batch_no', 'INT NOT NULL'),
      col('chunk_ids', 'LONGTEXT NOT NULL'),
      col('chunk_count', 'INT NOT NULL DEFAULT 0'),
      col('token_count', 'BIGINT NOT NULL DEFAULT 0'),
      col('created_at', 'DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)'),
    ],
  },
  {
    // Ragline: a task's completion is applied (progress 1, counts) exactly once.
    name: 'ragline_task_completion',
    primaryKey: ['task_id'],
    columns: [
      col('task_id', 'VARCHAR(64) NOT NULL'),
      col('chunks', 'INT NOT NULL DEFAULT 0'),
      col('tokens', 'BIGINT NOT NULL DEFAULT 0'),
      col('completed_at', 'DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)'),
    ],
  },
];

const q = (ident: string) => `\`${ident.replace(/`/g, '``')}\``;
export const quoteIdent = q;

/** Peewee's index name: `<table>_<column>`. */
export function indexName(table: string, column: string): string {
  return `${table}_${column}`;
}

export function createTableSql(t: TableDef): string {
  const lines = t.columns.map((c) => `  ${q(c.name)} ${c.ddl}`);
  lines.push(`  PRIMARY KEY (${t.primaryKey.map(q).join(', ')})`);
  for (const c of t.columns) {
    if (c.index && !t.primaryKey.includes(c.name)) lines.push(`  KEY ${q(indexName(t.name, c.name))} (${q(c.name)})`);
  }
  return `CREATE TABLE IF NOT EXISTS ${q(t.name)} (\n${lines.join(',\n')}\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`;
}

export function createDatabaseSql(database: string): string {
  return `CREATE DATABASE IF NOT EXISTS ${q(database)} DEFAULT CHARACTER SET utf8mb4`;
}

/** The DDL `migrate()` runs on an empty database, for docs and for operators who apply it by hand. */
export const MIGRATION_SQL: string = [createDatabaseSql('rag_flow') + ';', 'USE `rag_flow`;', ...TABLES.map((t) => createTableSql(t) + ';')].join(
  '\n\n',
);
