import { randomUUID } from 'node:crypto';
import xxhash from 'xxhash-wasm';
import { comparePython, pythonStr } from './python.js';

/** RAGFlow `MAXIMUM_PAGE_NUMBER` (common/constants.py). */
export const MAXIMUM_PAGE_NUMBER = 100_000;
/** RAGFlow `MAXIMUM_TASK_PAGE_NUMBER`: to_page of a task covering the whole document. */
export const MAXIMUM_TASK_PAGE_NUMBER = MAXIMUM_PAGE_NUMBER * 1000;
/** Rows per task for the `table` parser. */
export const TABLE_ROWS_PER_TASK = 3000;

// xxhash-wasm compiles its module asynchronously; doing it once at import keeps taskDigest synchronous.
const xxh = await xxhash();

/** A 32-hex-char id, the shape of RAGFlow's `uuid.uuid1().hex` (random rather than time-based). */
export function newId(): string {
  return randomUUID().replace(/-/g, '');
}

/** xxh64 hex digest (16 chars) of a UTF-8 string, as Python's `xxhash.xxh64(s.encode()).hexdigest()`. */
export function xxh64Hex(text: string): string {
  return xxh.h64ToString(text);
}

export interface PlanDocument {
  id: string;
  /** RAGFlow file type: 'pdf' | 'doc' | 'visual' | 'aural' | 'virtual' | 'folder' | 'other' */
  type: string;
  parser_id: string;
  parser_config: Record<string, unknown>;
}

export interface PlanInfo {
  /** PDF page count (0 or missing: no task, as RAGFlow) */
  pages?: number;
  /** row count of a spreadsheet for the `table` parser */
  rows?: number;
}

/** A task row about to be inserted; the shape of RAGFlow's `new_task()` plus digest/priority. */
export interface TaskPlan {
  id: string;
  doc_id: string;
  progress: number;
  from_page: number;
  to_page: number;
  /** filled in by taskDigest / queueDocument; '' until then */
  digest: string;
  priority: number;
  /** '' = standard chunking */
  task_type: string;
  /** "YYYY-MM-DD HH:MM:SS" (server time), set on insert when missing */
  begin_at?: string | null;
}

function positiveInt(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? Math.floor(value) : undefined;
}

/** Python's `range(start, stop, step)` for a positive step. */
function* range(start: number, stop: number, step: number): Generator<number> {
  for (let i = start; i < stop; i += step) yield i;
}

/**
 * Splits a document into tasks with RAGFlow's `queue_tasks` rules (docs/ragflow-compatibility.md
 * §2 Task planning): PDFs by page ranges of `task_page_size` (12, `paper` 22, whole range for `one`,
 * `knowledge_graph` or `toc_extraction`), the `table` parser by 3000 rows, anything else one task.
 */
export function planTasks(doc: PlanDocument, info: PlanInfo = {}, priority = 0): TaskPlan[] {
  const cfg = doc.parser_config ?? {};
  const make = (from: number, to: number): TaskPlan => ({
    id: newId(),
    doc_id: doc.id,
    progress: 0,
    from_page: from,
    to_page: to,
    digest: '',
    priority,
    task_type: '',
  });

  if (doc.type === 'pdf') {
    const pages = Math.max(0, Math.floor(info.pages ?? 0));
    let pageSize = positiveInt(cfg['task_page_size']) ?? (doc.parser_id === 'paper' ? 22 : 12);
    if (doc.parser_id === 'one' || doc.parser_id === 'knowledge_graph' || Boolean(cfg['toc_extraction'])) {
      pageSize = MAXIMUM_TASK_PAGE_NUMBER;
    }
    const configured = Array.isArray(cfg['pages']) && cfg['pages'].length > 0 ? (cfg['pages'] as unknown[]) : null;
    const ranges: Array<[number, number]> = configured
      ? configured.filter((r): r is [number, number] => Array.isArray(r) && r.length >= 2).map((r) => [Number(r[0]), Number(r[1])])
      : [[1, MAXIMUM_PAGE_NUMBER]];
    const tasks: TaskPlan[] = [];
    for (const [s0, e0] of ranges) {
      const s = Math.max(0, s0 - 1);
      const e = Math.min(e0 - 1, pages);
      for (const p of range(s, e, pageSize)) tasks.push(make(p, Math.min(p + pageSize, e)));
    }
    return tasks;
  }

  if (doc.parser_id === 'table') {
    const rows = Math.max(0, Math.floor(info.rows ?? 0));
    return [...range(0, rows, TABLE_ROWS_PER_TASK)].map((i) => make(i, Math.min(i + TABLE_ROWS_PER_TASK, rows)));
  }

  return [make(0, MAXIMUM_TASK_PAGE_NUMBER)];
}

/**
 * RAGFlow's task digest (docs/ragflow-compatibility.md §3 Task digest): xxh64 over `str()` of
 * every chunking config value in sorted key order (parser_config without `raptor`/`graphrag`),
 * then `doc_id`, `from_page`, `to_page`. The config is what `chunkingConfig` (ragflow-api.ts)
 * returns.
 */
export function taskDigest(
  chunkingConfig: Record<string, unknown>,
  task: { doc_id: string; from_page: number; to_page: number },
): string {
  let text = '';
  for (const key of Object.keys(chunkingConfig).sort(comparePython)) {
    let value = chunkingConfig[key];
    if (key === 'parser_config' && value && typeof value === 'object' && !Array.isArray(value)) {
      const { raptor: _raptor, graphrag: _graphrag, ...rest } = value as Record<string, unknown>;
      value = rest;
    }
    text += pythonStr(value);
  }
  text += pythonStr(task.doc_id) + pythonStr(task.from_page) + pythonStr(task.to_page);
  return xxh64Hex(text);
}
