import { fulltextQueryer, splitWhitespace, type FulltextQuery } from '@ragline/rag-tokenizer';

/**
 * A search text as RAGFlow queries its chunks: FulltextQueryer.question's weighted query over the
 * token fields (the tokens written by the parser come from the same tokenizer). Undefined when the
 * text has nothing searchable in it.
 */
export function ragflowQuery(text: string, minimumShouldMatch = 0.3): FulltextQuery | undefined {
  if (!text.trim()) return undefined;
  const q = fulltextQueryer().question(text, minimumShouldMatch);
  return q.queryString === undefined ? undefined : q;
}

/** What RAGFlow's rerank compares the query keywords with: content tokens once, title x2, keywords x5, questions x6. */
export function chunkRankTokens(doc: { content_ltks?: unknown; title_tks?: unknown; important_kwd?: unknown; question_tks?: unknown }): string[] {
  // Python's str.split(), as RAGFlow splits the fields
  const words = (v: unknown): string[] => (typeof v === 'string' ? splitWhitespace(v) : []);
  const kwd = Array.isArray(doc.important_kwd) ? doc.important_kwd.filter((k): k is string => typeof k === 'string') : typeof doc.important_kwd === 'string' ? [doc.important_kwd] : [];
  const title = words(doc.title_tks);
  const questions = words(doc.question_tks);
  return [...new Set(words(doc.content_ltks))].concat(title, title, ...Array(5).fill(kwd), ...Array(6).fill(questions));
}

/**
 * RAGFlow's hybrid similarity (Dealer.rerank) of each candidate: (1 - w) x token similarity of the
 * query keywords to the chunk's tokens + w x cosine. `chunkTokens[i]` and `cosines[i]` are one chunk's.
 */
export function hybridScores(query: FulltextQuery | undefined, chunkTokens: string[][], cosines: number[], w: number): Array<{ score: number; text: number }> {
  const texts = query ? fulltextQueryer().tokenSimilarity(query.keywords, chunkTokens) : chunkTokens.map(() => 0);
  return texts.map((text, i) => ({ score: (1 - w) * text + w * cosines[i]!, text }));
}
