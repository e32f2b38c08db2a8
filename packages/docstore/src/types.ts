import type { Chunk, ParentChunk } from '@ragline/contracts';
import type { DocMetadataFields } from './metadata.js';
import type { TagSource } from './tags.js';

/** RAGFlow's vector field name for a dimension, e.g. q_1024_vec. */
export type VectorField = `q_${number}_vec`;

/**
 * A chunk as it sits in the doc store: RAGFlow's field names plus exactly one `q_<dim>_vec` field.
 * Vectors are stored as float32 (as Elasticsearch's dense_vector does), so write float32 values
 * (e.g. from a Float32Array) to read back the very same numbers.
 */
export type StoredChunk = Chunk & { [field: VectorField]: number[] };

export interface UpsertResult {
  written: number;
  /** per-document failures; the rest of the batch was written */
  errors: { id: string; reason: string; retryable: boolean }[];
}

export interface SearchRequest {
  tenantId: string;
  /** restrict to these knowledge bases; an empty list matches nothing; default all of the tenant's */
  kbIds?: string[];
  docIds?: string[];
  /** full-text query: lower-cased and split on whitespace, terms OR-ed */
  query?: string;
  vector?: number[];
  mode: 'fulltext' | 'vector' | 'hybrid';
  /** default 10 */
  topK?: number;
  /** weight of the vector side in hybrid mode; default 0.3 (RAGFlow's vector_similarity_weight) */
  vectorSimilarityWeight?: number;
}

export interface SearchHit {
  id: string;
  doc_id: string;
  kb_id: string;
  docnm_kwd: string;
  content_with_weight: string;
  page_num_int: number[];
  /** what hits are ordered by: text_score (fulltext), vector_score (vector) or the weighted sum (hybrid) */
  score: number;
  /** full-text relevance divided by the best in the candidate set: [0, 1], 0 = no term matched */
  text_score: number;
  /** cosine similarity to the query vector, 0 when no vector was given */
  vector_score: number;
}

/**
 * Where chunks go. One index per tenant (`ragflow_<tenant_id>`), documents keyed by chunk id,
 * every document carrying its `kb_id`, every read and delete filtered by it: the shape of RAGFlow's
 * Elasticsearch usage, so an Elasticsearch adapter and the embedded default are interchangeable.
 */
export interface DocStore extends TagSource {
  readonly kind: 'lancedb' | 'elasticsearch';
  /** create the tenant's index for vectors of `dim` if missing (idempotent) */
  ensureIndex(tenantId: string, dim: number): Promise<void>;
  /** insert or replace by id; a document with an id already stored is replaced, never duplicated */
  upsert(tenantId: string, docs: StoredChunk[]): Promise<UpsertResult>;
  /**
   * insert or replace parent records (children_delimiter's, RAGFlow's `available_int` 0 mothers) by
   * id; they carry no vector, are never returned by search, and are read back with `get`, removed
   * with their document, and counted by `count` like any stored document
   */
  upsertParents(tenantId: string, parents: ParentChunk[]): Promise<UpsertResult>;
  /** remove every chunk of a document (parent records included); returns how many were removed */
  deleteByDoc(tenantId: string, kbId: string, docId: string): Promise<number>;
  deleteByIds(tenantId: string, kbId: string, ids: string[]): Promise<number>;
  /** make everything written so far searchable through the indexes (ES refresh; Lance index update) */
  refresh(tenantId: string): Promise<void>;
  /**
   * chunks stored; like search, it is sure to include writes only after `refresh` (Elasticsearch is
   * near-real-time: within its refresh_interval otherwise); `get` always sees every write
   */
  count(tenantId: string, filter?: { kb_id?: string; doc_id?: string }): Promise<number>;
  /** documents exactly as written, in the order of `ids`; unknown ids are skipped */
  get(tenantId: string, ids: string[]): Promise<StoredChunk[]>;
  search(req: SearchRequest): Promise<SearchHit[]>;
  /** the document's metadata (RAGFlow's meta_fields in ragflow_doc_meta_<tenant>); undefined when it has none */
  getDocMetadata(tenantId: string, docId: string): Promise<DocMetadataFields | undefined>;
  /** merges `meta` into the document's metadata as RAGFlow's task executor does; returns what is stored */
  mergeDocMetadata(tenantId: string, kbId: string, docId: string, meta: DocMetadataFields): Promise<DocMetadataFields>;
  close(): Promise<void>;
}
