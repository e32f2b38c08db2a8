import {
  RagflowSynonyms,
  TermWeighter,
  fineGrainedTokenize,
  loadSynonymDictionary,
  loadTermResources,
  pyFloat,
  ragTokenizer,
  splitWhitespace,
  subSpecialChar,
  type SynonymSource,
  type WeightedTerm,
} from '@ragline/rag-tokenizer';

/** A tag of a tag knowledge base (`tag_kwd`) and how many of the chunks searched carry it. */
export type TagCount = [tag: string, count: number];

/**
 * What a chunk is matched against the tag knowledge bases with (RAGFlow's tag_content): the input of
 * FulltextQueryer.paragraph. The shape `@ragline/enrichment`'s TagSource passes.
 */
export interface TagQuery {
  /** `title_tks + " " + content_ltks` of the chunk */
  tokens: string;
  /** the chunk's important_kwd (quoted phrases of the query) */
  keywords: string[];
  /** how many of the text's weighted terms to use; RAGFlow's 30 */
  keywordsTopn: number;
  /**
   * the paragraph query already built by the caller (`@ragline/enrichment`'s, checked against
   * RAGFlow's); Elasticsearch runs it as given, else the store builds it with paragraphQuery
   */
  match?: { queryString: string; minimumShouldMatch: number };
}

/**
 * The query RAGFlow's tag_content searches the tag knowledge bases with (FulltextQueryer.paragraph):
 * the chunk's top keywords by term weight, with synonyms, plus its important_kwd as phrases.
 */
export interface ParagraphQuery {
  /** Lucene query_string text, as paragraph() builds it */
  queryString: string;
  /** ES minimum_should_match as a number of clauses: min(3, round(clauses / 10)) */
  minimumShouldMatch: number;
  /** the same query as weighted terms (for the embedded store) */
  terms: WeightedTerm[];
  /** per query clause, the terms any of which matches it (a keyword with its synonyms) */
  clauses: string[][];
}

/**
 * Where tagging reads the tag knowledge bases from (RAGFlow's Dealer.all_tags / tag_content
 * searches). Both doc stores implement it.
 */
export interface TagSource {
  /** every `tag_kwd` value over all chunks of `kbIds` in the tenant's index, with its count */
  allTagCounts(tenantId: string, kbIds: string[]): Promise<TagCount[]>;
  /** `tag_kwd` counts over the chunks of `kbIds` that match the chunk's paragraph query */
  matchingTagCounts(tenantId: string, kbIds: string[], query: TagQuery): Promise<TagCount[]>;
}

let weighter: TermWeighter | undefined;
let synonyms: SynonymSource | undefined;

/** Python's round(): halves to even. */
function pyRound(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * RAGFlow's FulltextQueryer.paragraph over a chunk: `title_tks content_ltks` weighted, the
 * `keywordsTopn` heaviest terms each OR-ed with its synonyms (fine-grained, boost 0.2), after the
 * chunk's important_kwd as quoted phrases.
 */
export function paragraphQuery(
  query: Partial<TagQuery>,
  resources: { weighter?: TermWeighter; synonyms?: SynonymSource } = {},
): ParagraphQuery {
  const keywordsTopn = query.keywordsTopn ?? 30;
  const tw = resources.weighter ?? (weighter ??= new TermWeighter(ragTokenizer(), loadTermResources(undefined)));
  const syn = resources.synonyms ?? (synonyms ??= new RagflowSynonyms({ dictionary: loadSynonymDictionary(undefined) }));
  const tks = splitWhitespace(query.tokens ?? '').filter((t) => t.trim());
  const weighted = tw.weights(tks, false);
  const important = query.keywords ?? [];
  const clauses = important.map((k) => `"${k.trim()}"`);
  const kept = important.filter((k) => k.trim());
  const terms: WeightedTerm[] = kept.map((k) => ({ tokens: [k.trim().replace(/\s+/g, '_')], weight: 1 }));
  const groups: string[][] = kept.map((k) => [k.trim().replace(/\s+/g, '_')]);
  // Python's sorted() is stable: equal weights keep their order
  const top = weighted
    .map((tw, i) => ({ tw, i }))
    .sort((a, b) => b.tw[1] - a.tw[1] || a.i - b.i)
    .slice(0, keywordsTopn)
    .map((x) => x.tw);
  for (const [raw, w] of top) {
    const tkSyns = syn
      .lookup(raw)
      .map((s) => subSpecialChar(s))
      .filter(Boolean)
      .map((s) => fineGrainedTokenize(s))
      .map((s) => (s.indexOf(' ') > 0 ? `"${s}"` : s));
    let tk = subSpecialChar(raw);
    if (tk.indexOf(' ') > 0) tk = `"${tk}"`;
    if (tkSyns.length) tk = `(${tk} OR (${tkSyns.join(' ')})^0.2)`;
    if (!tk) continue;
    clauses.push(`${tk}^${pyFloat(w)}`);
    terms.push({ tokens: splitWhitespace(raw), weight: w });
    const alternatives = [raw];
    for (const s of tkSyns) {
      const plain = s.replace(/"/g, '');
      terms.push({ tokens: splitWhitespace(plain), weight: w * 0.2 });
      alternatives.push(plain);
    }
    groups.push(alternatives);
  }
  return { queryString: clauses.join(' '), minimumShouldMatch: Math.min(3, pyRound(clauses.length / 10)), terms, clauses: groups };
}

/** Counts `tag_kwd` values over chunk documents (the embedded store's terms aggregation), most frequent first. */
export function countTags(docs: Iterable<Record<string, unknown>>): TagCount[] {
  const counts = new Map<string, number>();
  for (const d of docs) {
    const v = d.tag_kwd;
    const tags = Array.isArray(v) ? v : typeof v === 'string' ? [v] : [];
    // a terms aggregation counts a document once per distinct value
    for (const t of new Set(tags.filter((x): x is string => typeof x === 'string'))) counts.set(t, (counts.get(t) ?? 0) + 1);
  }
  // Elasticsearch's terms order: count descending, then term ascending
  return [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

/** How many of the query's clauses a chunk's token fields match (the embedded store's minimum_should_match). */
export function matchedClauses(doc: Record<string, unknown>, clauses: string[][]): number {
  const tokens = new Set<string>();
  for (const f of ['title_tks', 'title_sm_tks', 'important_tks', 'question_tks', 'content_ltks', 'content_sm_ltks']) {
    const v = doc[f];
    if (typeof v === 'string') for (const t of splitWhitespace(v.toLowerCase())) tokens.add(t);
  }
  const kwd = doc.important_kwd;
  for (const k of Array.isArray(kwd) ? kwd : typeof kwd === 'string' ? [kwd] : []) if (typeof k === 'string') tokens.add(k.trim().toLowerCase().replace(/\s+/g, '_'));
  // a phrase alternative matches when all of its tokens are there
  return clauses.filter((alts) => alts.some((a) => splitWhitespace(a.toLowerCase()).every((t) => tokens.has(t)))).length;
}
