import type { DocStore, SearchHit } from '@ragline/docstore';
import { embedTexts, type EmbeddingBackend } from '@ragline/embedding';
import type { TaskDb } from '@ragline/taskdb';

export interface SearchOptions {
  /** knowledge base name */
  kb: string;
  top: number;
  mode: 'hybrid' | 'fulltext' | 'vector';
  /** only chunks of these documents; default all of the knowledge base */
  docIds?: string[];
  /** weight of the vector side in hybrid mode; default the KB's vector_similarity_weight (RAGFlow: 0.3) */
  vectorSimilarityWeight?: number;
}

export interface SearchDeps {
  taskdb: TaskDb;
  docstore: DocStore;
  /**
   * the embedder's per-embd_id backends (`embeddingRegistryFromConfig`, EMBEDDING_BACKENDS), so the
   * query is embedded by the model the knowledge base's chunks were embedded with
   */
  embedders: { forEmbdId(embdId: string): EmbeddingBackend };
}

/**
 * Full-text, vector or hybrid search over one knowledge base, on whichever doc store is configured
 * (Elasticsearch or the embedded LanceDB store: both score hits the same way). Hits carry the chunk
 * text, document name, pages and score.
 */
export async function searchKnowledgebase(deps: SearchDeps, query: string, opts: SearchOptions): Promise<SearchHit[]> {
  const kb = await deps.taskdb.findKnowledgebaseByName(opts.kb);
  if (!kb) throw new Error(`knowledge base "${opts.kb}" not found`);
  let vector: number[] | undefined;
  if (opts.mode !== 'fulltext') {
    // cut to the model's input limit like a chunk (a query is rarely that long)
    const { vectors } = await embedTexts(deps.embedders.forEmbdId(kb.embd_id), [query], { batchSize: 1, concurrency: 1 });
    vector = Array.from(vectors[0]!);
  }
  return deps.docstore.search({
    tenantId: kb.tenant_id,
    kbIds: [kb.id],
    docIds: opts.docIds,
    query,
    vector,
    mode: opts.mode,
    topK: opts.top,
    vectorSimilarityWeight: opts.vectorSimilarityWeight ?? Number(kb.vector_similarity_weight ?? 0.3),
  });
}

export function formatHits(hits: SearchHit[]): string {
  if (!hits.length) return 'no matching chunks';
  return hits
    .map((h, i) => {
      const text = h.content_with_weight.replace(/\s+/g, ' ').trim();
      const snippet = text.length > 240 ? `${text.slice(0, 237)}...` : text;
      return `${i + 1}. [${h.score.toFixed(3)}] ${h.docnm_kwd} (chunk ${h.id})\n   ${snippet}`;
    })
    .join('\n');
}
