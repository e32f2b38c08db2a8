import { z } from 'zod';
import { STAGES } from './subjects.js';

/** Bumped on any incompatible change to a message below; every message carries it as `v`. */
export const CONTRACT_VERSION = 1 as const;
const v = z.literal(CONTRACT_VERSION);

const id = z.string().min(1).max(256);
const ms = z.number().int().nonnegative();

/** RAGFlow's parser_config is free-form JSON; known keys are typed, the rest pass through. */
export const ParserConfig = z
  .looseObject({
    chunk_token_num: z.number().int().positive().optional(),
    delimiter: z.string().optional(),
    overlapped_percent: z.number().min(0).max(100).optional(),
    filename_embd_weight: z.number().min(0).max(1).optional(),
    task_page_size: z.number().int().positive().optional(),
    layout_recognize: z.union([z.string(), z.boolean()]).optional(),
    pages: z.array(z.array(z.number())).optional(),
  });
export type ParserConfig = z.infer<typeof ParserConfig>;

/**
 * Everything a stage needs to know about the task it works on. The bridge builds it from
 * RAGFlow's task/document/knowledgebase/tenant join, so later stages never read MySQL.
 */
export const TaskContext = z.object({
  task_id: id,
  doc_id: id,
  kb_id: id,
  tenant_id: id,
  task_type: z.string(),
  from_page: z.number().int(),
  to_page: z.number().int(),
  priority: z.number().int(),
  retry_count: z.number().int().nonnegative(),
  parser_id: z.string(),
  parser_config: ParserConfig,
  doc_name: z.string(),
  doc_type: z.string(),
  /** storage address: bucket and object name (RAGFlow: kb_id and document.location) */
  bucket: z.string(),
  location: z.string(),
  size: z.number().int().nonnegative(),
  language: z.string(),
  embd_id: z.string(),
  pagerank: z.number().int(),
  /** ms epoch when the bridge handed the task to JetStream */
  received_at: ms,
  /** the tenant's chat model (RAGFlow's Tenant.llm_id), for the enricher; absent in messages from before it */
  llm_id: z.string().optional(),
  /**
   * the knowledge base's own parser_config (RAGFlow's `kb_parser_config`): RAGFlow reads tag_kb_ids
   * and topn_tags from it, not from the document's; absent in messages from before it
   */
  kb_parser_config: ParserConfig.optional(),
});
export type TaskContext = z.infer<typeof TaskContext>;

export const TaskMessage = z.object({
  v,
  kind: z.literal('task'),
  task: TaskContext,
  /** where the task came from: Redis stream and entry id */
  source: z.object({ stream: z.string(), entry_id: z.string() }),
});
export type TaskMessage = z.infer<typeof TaskMessage>;

/** A chunk with RAGFlow's Elasticsearch field names (docs/ragflow-compatibility.md §11 Chunk documents and Elasticsearch fields). */
export const Chunk = z.looseObject({
  id: z.string().regex(/^[0-9a-f]{16}$/, 'chunk id must be 16 hex chars (xxh64)'),
  doc_id: id,
  kb_id: id,
  docnm_kwd: z.string(),
  title_tks: z.string(),
  title_sm_tks: z.string(),
  content_with_weight: z.string(),
  content_ltks: z.string(),
  content_sm_ltks: z.string(),
  page_num_int: z.array(z.number().int()),
  position_int: z.array(z.array(z.number().int())),
  top_int: z.array(z.number().int()),
  important_kwd: z.array(z.string()).default([]),
  create_time: z.string(),
  create_timestamp_flt: z.number(),
  img_id: z.string(),
  /** tokens of content_with_weight (cl100k_base) */
  token_count: z.number().int().nonnegative(),
});
export type Chunk = z.infer<typeof Chunk>;
export type ChunkInput = z.input<typeof Chunk>;

/** Subset of TaskContext downstream stages carry along with each batch. */
export const TaskRef = TaskContext.pick({
  task_id: true,
  doc_id: true,
  kb_id: true,
  tenant_id: true,
  embd_id: true,
  doc_name: true,
  from_page: true,
  to_page: true,
  received_at: true,
}).extend({ filename_embd_weight: z.number().min(0).max(1).optional() });
export type TaskRef = z.infer<typeof TaskRef>;

/**
 * What a task asks the enricher for: RAGFlow's LLM features from the document's parser_config
 * (auto_keywords, auto_questions, enable_metadata/metadata/built_in_metadata, toc_extraction) and the
 * knowledge base's parser_config (tag_kb_ids, topn_tags), with the tenant's chat model (Tenant.llm_id)
 * (docs/ragflow-compatibility.md). The parser attaches it to a batch only when something is asked.
 */
export const EnrichSpec = z.object({
  /** the chat model to use, as RAGFlow names it (Tenant.llm_id, e.g. "qwen-plus@Tongyi-Qianwen") */
  llm_id: z.string(),
  /** the knowledge base's language, which RAGFlow's prompts answer in */
  language: z.string(),
  /** keywords per chunk (RAGFlow's topn); 0 = off */
  auto_keywords: z.number().int().nonnegative().default(0),
  /** questions per chunk; 0 = off */
  auto_questions: z.number().int().nonnegative().default(0),
  /** tag knowledge bases whose tag_kwd sets label chunks (tag_feas); empty = off */
  tag_kb_ids: z.array(id).default([]),
  topn_tags: z.number().int().positive().default(3),
  enable_metadata: z.boolean().default(false),
  /** RAGFlow's metadata fields: a list of field definitions or a JSON schema */
  metadata: z.unknown().optional(),
  built_in_metadata: z.array(z.unknown()).optional(),
  toc_extraction: z.boolean().default(false),
});
export type EnrichSpec = z.infer<typeof EnrichSpec>;
export type EnrichSpecInput = z.input<typeof EnrichSpec>;

/** True when the spec asks for any LLM work at all (a batch without one passes the enricher untouched). */
export function enrichmentRequested(spec: EnrichSpecInput | undefined): boolean {
  if (!spec) return false;
  return (
    (spec.auto_keywords ?? 0) > 0 ||
    (spec.auto_questions ?? 0) > 0 ||
    (spec.tag_kb_ids?.length ?? 0) > 0 ||
    (spec.enable_metadata === true && (spec.metadata != null || (spec.built_in_metadata?.length ?? 0) > 0)) ||
    spec.toc_extraction === true
  );
}

const count = (v: unknown): number => {
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  return typeof n === 'number' && Number.isFinite(n) && n > 0 ? Math.floor(n) : 0;
};

/**
 * The EnrichSpec of a task, read where RAGFlow's task executor reads each feature: auto_keywords,
 * auto_questions, enable_metadata/metadata/built_in_metadata and toc_extraction from the (document's)
 * parser_config, tag_kb_ids/topn_tags from the knowledge base's, the chat model from
 * parser_config.llm_id or else the tenant's llm_id. TOC extraction runs for the naive method only,
 * as in RAGFlow. Undefined when the task asks for nothing (the batch then passes the enricher untouched).
 */
export function enrichSpecFor(task: TaskContext): EnrichSpec | undefined {
  const pc = task.parser_config as Record<string, unknown>;
  const kb = (task.kb_parser_config ?? {}) as Record<string, unknown>;
  const tagKbIds = Array.isArray(kb['tag_kb_ids']) ? kb['tag_kb_ids'].filter((x): x is string => typeof x === 'string' && x.length > 0) : [];
  const spec: EnrichSpecInput = {
    llm_id: (typeof pc['llm_id'] === 'string' && pc['llm_id']) || task.llm_id || '',
    language: task.language,
    auto_keywords: count(pc['auto_keywords']),
    auto_questions: count(pc['auto_questions']),
    tag_kb_ids: tagKbIds,
    topn_tags: count(kb['topn_tags']) || 3,
    enable_metadata: pc['enable_metadata'] === true,
    ...(pc['metadata'] != null && { metadata: pc['metadata'] }),
    ...(Array.isArray(pc['built_in_metadata']) && { built_in_metadata: pc['built_in_metadata'] as unknown[] }),
    toc_extraction: pc['toc_extraction'] === true && task.parser_id.toLowerCase() === 'naive',
  };
  return enrichmentRequested(spec) ? EnrichSpec.parse(spec) : undefined;
}

/** Document metadata as RAGFlow keeps it in `meta_fields`: field name -> value (mostly lists of strings). */
export const DocMetadata = z.record(z.string(), z.unknown());
export type DocMetadata = z.infer<typeof DocMetadata>;

export const ChunkBatch = z.object({
  v,
  kind: z.literal('chunks'),
  task: TaskRef,
  batch_no: z.number().int().nonnegative(),
  chunks: z.array(Chunk).min(1),
  /** present when the task asks for LLM enrichment; the enricher consumes it */
  enrich: EnrichSpec.optional(),
  /** how many batches the task has (set by the parser with `enrich`): the enricher's progress is the share it enriched */
  batches: z.number().int().positive().optional(),
  /**
   * document metadata the enricher extracted from this batch (enable_metadata), merged by the
   * indexer into the document's entry in RAGFlow's metadata index (ragflow_doc_meta_<tenant>)
   */
  doc_metadata: DocMetadata.optional(),
});
export type ChunkBatch = z.infer<typeof ChunkBatch>;

/** Vectors travel as base64 of little-endian float32, one string per chunk (about 3x smaller than JSON numbers). */
export const PackedVectors = z.object({
  encoding: z.literal('f32le-base64'),
  dim: z.number().int().positive(),
  data: z.array(z.string()),
});
export type PackedVectors = z.infer<typeof PackedVectors>;

export const EmbeddedBatch = z
  .object({
    v,
    kind: z.literal('embedded'),
    task: TaskRef,
    batch_no: z.number().int().nonnegative(),
    model: z.string(),
    /** tokens the embedding backend counted for this batch (title included once per task) */
    tokens: z.number().int().nonnegative(),
    chunks: z.array(Chunk).min(1),
    vectors: PackedVectors,
    /** the chunk batch's doc_metadata, carried to the indexer */
    doc_metadata: DocMetadata.optional(),
  })
  .refine((b) => b.vectors.data.length === b.chunks.length, {
    message: 'vectors.data must have one entry per chunk',
    path: ['vectors', 'data'],
  });
export type EmbeddedBatch = z.infer<typeof EmbeddedBatch>;

/**
 * A parent record of `children_delimiter` children (RAGFlow insert_chunks' "mothers"): stored in the
 * doc store, with `available_int` 0 so no search returns it, and without a vector (it is never
 * embedded); retrieval fetches it by the `mom_id` its children carry. Exactly RAGFlow's fields.
 */
export const ParentChunk = z.strictObject({
  id: z.string().regex(/^[0-9a-f]{16}$/, 'parent id must be 16 hex chars (xxh64 of its text)'),
  doc_id: id,
  kb_id: id,
  docnm_kwd: z.string(),
  content_with_weight: z.string(),
  available_int: z.literal(0),
  position_int: z.array(z.array(z.number().int())),
  create_timestamp_flt: z.number(),
  page_num_int: z.array(z.number().int()),
  top_int: z.array(z.number().int()),
});
export type ParentChunk = z.infer<typeof ParentChunk>;

/**
 * Parser -> indexer, past the enricher and embedder: a task's parent records. Its `batch_no`
 * continues after the chunk batches' and the manifest's `batches` counts it, so the indexer records
 * it like any batch and completion waits for it; it adds no chunks (RAGFlow's chunk_num counts
 * children only).
 */
export const ParentBatch = z.object({
  v,
  kind: z.literal('parents'),
  task: TaskRef,
  batch_no: z.number().int().nonnegative(),
  parents: z.array(ParentChunk).min(1),
});
export type ParentBatch = z.infer<typeof ParentBatch>;

/**
 * Parser -> indexer: the task produced exactly `batches` batches (chunk batches, then parent batches)
 * holding `chunks` chunks (children and plain chunks; parent records are not chunks).
 */
export const TaskManifest = z.object({
  v,
  kind: z.literal('manifest'),
  task: TaskRef,
  batches: z.number().int().nonnegative(),
  chunks: z.number().int().nonnegative(),
  parse_ms: z.number().nonnegative(),
});
export type TaskManifest = z.infer<typeof TaskManifest>;

/**
 * Enricher or embedder -> indexer: RAGFlow's cancel flag is set for the task, so its batches are dropped
 * instead of embedded. Without it the indexer would hear nothing more of a task whose remaining
 * batches all waited for the embedder, and could neither remove what it indexed nor fail the task.
 */
export const TaskCancelled = z.object({
  v,
  kind: z.literal('cancelled'),
  task: TaskRef,
  /** the batch whose drop sent this notice */
  batch_no: z.number().int().nonnegative(),
});
export type TaskCancelled = z.infer<typeof TaskCancelled>;

export const IndexMessage = z.union([EmbeddedBatch, ParentBatch, TaskManifest, TaskCancelled]);
export type IndexMessage = z.infer<typeof IndexMessage>;

const eventBase = { v, task_id: id, doc_id: id, at: ms };

/** A line for the task's progress_msg, optionally raising its progress (RAGFlow semantics, -1 = failed). */
export const ProgressEvent = z.object({
  ...eventBase,
  kind: z.literal('progress'),
  stage: z.enum(STAGES),
  progress: z.number().min(-1).max(1).nullable(),
  msg: z.string(),
  /** adds RAGFlow's "Page(a~b): " prefix */
  page_range: z.object({ from: z.number().int(), to: z.number().int() }).nullable(),
});
export type ProgressEvent = z.infer<typeof ProgressEvent>;

export const BatchIndexedEvent = z.object({
  ...eventBase,
  kind: z.literal('batch_indexed'),
  kb_id: id,
  batch_no: z.number().int().nonnegative(),
  chunk_ids: z.array(z.string()),
  tokens: z.number().int().nonnegative(),
  indexed_batches: z.number().int().nonnegative(),
  /** null until the parser's manifest reached the indexer */
  total_batches: z.number().int().nonnegative().nullable(),
});
export type BatchIndexedEvent = z.infer<typeof BatchIndexedEvent>;

export const TaskCompletedEvent = z.object({
  ...eventBase,
  kind: z.literal('completed'),
  kb_id: id,
  chunks: z.number().int().nonnegative(),
  tokens: z.number().int().nonnegative(),
  batches: z.number().int().nonnegative(),
  /** ms from the bridge's hand-off to completion */
  duration_ms: z.number().nonnegative(),
});
export type TaskCompletedEvent = z.infer<typeof TaskCompletedEvent>;

export const PipelineEvent = z.discriminatedUnion('kind', [ProgressEvent, BatchIndexedEvent, TaskCompletedEvent]);
export type PipelineEvent = z.infer<typeof PipelineEvent>;

/** A message a stage gave up on; the monitor fails its task with `error.message`. */
export const DeadLetter = z.object({
  v,
  kind: z.literal('dead_letter'),
  stage: z.enum(STAGES),
  subject: z.string(),
  stream_seq: z.number().int().nonnegative().nullable(),
  deliveries: z.number().int().nonnegative(),
  error: z.object({ name: z.string(), message: z.string(), retryable: z.boolean() }),
  task_id: z.string().nullable(),
  doc_id: z.string().nullable(),
  /** the original payload, base64, so it can be replayed */
  data_b64: z.string(),
  headers: z.record(z.string(), z.array(z.string())),
  at: ms,
});
export type DeadLetter = z.infer<typeof DeadLetter>;

/**
 * One entry of RAGFlow's Redis queue (field `message`). Only `id`, `task_type` and `doc_ids` are
 * authoritative; everything else is re-read from MySQL (docs/ragflow-compatibility.md §4 Redis queue message).
 */
export const RagflowQueueMessage = z.looseObject({
  id: z.string().min(1).max(64),
  doc_id: z.string().optional(),
  task_type: z.string().optional(),
  doc_ids: z.array(z.string()).optional(),
  priority: z.number().int().optional(),
});
export type RagflowQueueMessage = z.infer<typeof RagflowQueueMessage>;

/** Registry used by the JSON Schema export. */
export const SCHEMAS = {
  TaskMessage,
  ChunkBatch,
  EmbeddedBatch,
  ParentBatch,
  TaskManifest,
  TaskCancelled,
  EnrichSpec,
  ProgressEvent,
  BatchIndexedEvent,
  TaskCompletedEvent,
  DeadLetter,
  RagflowQueueMessage,
} as const;
