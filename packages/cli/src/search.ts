import type { DocStore, SearchHit } from '@ragline/docstore';
import type { EmbeddingBackend } from '@ragline/embedding';
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

/**
 * Full-text, vector or hybrid search over one knowledge base, on whichever doc store is configured
 * (Elasticsearch or the embedded LanceDB store: both score hits the same way). Hits carry the chunk
 * text, document name, pages and score.
 */
export async function searchKnowledgebase(
  deps: { taskdb: TaskDb; docstore: DocStore; backend: EmbeddingBackend },
  query: string,
  opts: SearchOptions,
): Promise<SearchHit[]> {
  const kb = await deps.taskdb.findKnowledgebaseByName(opts.kb);
  if (!kb) throw new Error(`knowledge base "${opts.kb}" not found`);
  const vector = opts.mode === 'fulltext' ? undefined : Array.from((await deps.backend.embed([query])).vectors[0]!);
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
