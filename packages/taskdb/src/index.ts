export { createTaskDb, TaskDb } from './taskdb.js';
export { resolveTaskDbOptions } from './connection.js';
export { ABANDON_MESSAGE, RECEIVED_MESSAGE } from './receive.js';
export { DEFAULT_PARSER_CONFIG, QUEUED_MESSAGE } from './ragflow-api.js';
export type { CreateDocumentOptions, EnsureKnowledgebaseOptions, EnsureTenantOptions } from './ragflow-api.js';
export type { TaskStateFilter } from './queries.js';
export type { StorageAddress } from './storage-address.js';
export { TaskDbError, TaskDbNotFoundError, isRetryableCode, isTaskDbUnavailable, toTaskDbError } from './errors.js';
export {
  TASK_MAX_LOG_LENGTH,
  appendProgressMsg,
  clockTime,
  formatProgressLine,
  nextProgress,
  trimHeaderByLines,
} from './progress.js';
export type { PageRange, ProgressLineOptions } from './progress.js';
export {
  MAXIMUM_PAGE_NUMBER,
  MAXIMUM_TASK_PAGE_NUMBER,
  TABLE_ROWS_PER_TASK,
  newId,
  planTasks,
  taskDigest,
  xxh64Hex,
} from './plan.js';
export type { PlanDocument, PlanInfo, TaskPlan } from './plan.js';
export { PyFloat, pythonRepr, pythonStr } from './python.js';
export { MIGRATION_SQL, TABLES, createTableSql } from './schema.js';
export type { ColumnDef, TableDef } from './schema.js';
export { RunStatus } from './types.js';
export type * from './types.js';
export { DocumentBusyError, REUSED_MESSAGE, deleteDocumentRows, documentTaskIds, planReparse } from './reparse.js';
export type { DeletedDocument, ReparsePlan } from './reparse.js';
