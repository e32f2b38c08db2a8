import type { FulltextQuery } from '@ragline/rag-tokenizer';
import { cosine } from './fields.js';
import { chunkRankTokens, hybridScores } from './ragflow-query.js';
import type { SearchHit } from './types.js';

/** The stored fields a hit carries, whichever store it came from. */
export const HIT_FIELDS: string[] = ['id', 'doc_id', 'kb_id', 'docnm_kwd', 'content_with_weight', 'page_num_int'];

/** A list of numbers from a JSON array or an Arrow vector (LanceDB rows). */
export function numbers(v: unknown): number[] {
  if (v == null) return [];
  if (typeof (v as { toArray?: unknown }).toArray === 'function') return Array.from((v as { toArray(): ArrayLike<number> }).toArray());
  return Array.from(v as ArrayLike<number>);
}

export function hitOf(doc: Record<string, unknown>, text: number, vector: number, score: number): SearchHit {
  return {
    id: doc.id as string,
    doc_id: doc.doc_id as string,
    kb_id: doc.kb_id as string,
    docnm_kwd: typeof doc.docnm_kwd === 'string' ? doc.docnm_kwd : '',
    content_with_weight: typeof doc.content_with_weight === 'string' ? doc.content_with_weight : '',
    page_num_int: numbers(doc.page_num_int),
    score,
    text_score: text,
    vector_score: vector,
  };
}

/** Best first; equal scores by id, so a search returns the same order every time. */
export function byScore(a: SearchHit, b: SearchHit): number {
  return b.score - a.score || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/** Full-text hits with their relevance divided by the best one's (text_score in [0, 1]). */
export function fulltextHits(rows: ReadonlyArray<{ doc: Record<string, unknown>; score: number }>, topK: number): SearchHit[] {
  const max = Math.max(0, ...rows.map((r) => r.score));
  return rows
    .map(({ doc, score }) => {
      const t = max > 0 ? score / max : 0;
      return hitOf(doc, t, 0, t);
    })
    .sort(byScore)
    .slice(0, topK);
}

/** Vector hits scored by cosine similarity. */
export function vectorHits(rows: ReadonlyArray<{ doc: Record<string, unknown>; cosine: number }>, topK: number): SearchHit[] {
  return rows
    .map(({ doc, cosine: sim }) => hitOf(doc, 0, sim, sim))
    .sort(byScore)
    .slice(0, topK);
}

/**
 * RAGFlow's rerank of hybrid candidates: each scored (1 - w) x the query keywords' token similarity to
 * its token fields + w x cosine of its stored vector. `tokenFields` is the chunk's content_ltks,
 * title_tks, important_kwd and question_tks.
 */
export function hybridHits(
  candidates: ReadonlyArray<{ doc: Record<string, unknown>; tokenFields: Record<string, unknown>; vector: number[] }>,
  query: FulltextQuery | undefined,
  vector: number[],
  w: number,
  topK: number,
): SearchHit[] {
  const cosines = candidates.map((c) => cosine(vector, c.vector));
  const sims = hybridScores(
    query,
    candidates.map((c) => chunkRankTokens(c.tokenFields)),
    cosines,
    w,
  );
  return candidates
    .map((c, i) => hitOf(c.doc, sims[i]!.text, cosines[i]!, sims[i]!.score))
    .sort(byScore)
    .slice(0, topK);
}
