export type { DocStore, SearchHit, SearchRequest, StoredChunk, UpsertResult, VectorField } from './types.js';
export { DocStoreError } from './errors.js';
export { getVector, vectorFieldOf } from './fields.js';
export {
  createLanceDocStore,
  lanceFtsQuery,
  DEFAULT_INDEX_CACHE_BYTES,
  DEFAULT_METADATA_CACHE_BYTES,
  type LanceDocStore,
  type LanceDocStoreOptions,
} from './lancedb.js';
export {
  createElasticDocStore,
  denseVectorMapping,
  ragflowIndexBody,
  FULLTEXT_FIELDS,
  TEMPLATED_DIMS,
  type ElasticDocStoreOptions,
} from './elasticsearch.js';
export { ragflowQuery, chunkRankTokens, hybridScores } from './ragflow-query.js';
export { DocStoreSettings, DocStoreWriterSettings } from './settings.js';
export { paragraphQuery, countTags, type ParagraphQuery, type TagCount, type TagQuery, type TagSource } from './tags.js';
export { DOC_META_INDEX_BODY, docMetaIndexName, mergedDocMetadata, splitCombinedValues, updateMetadataTo, type DocMetadataFields } from './metadata.js';
