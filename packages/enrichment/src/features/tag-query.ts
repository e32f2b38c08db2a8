import {
  fineGrainedTokenize,
  loadSynonymDictionary,
  loadTermResources,
  pyFloat,
  QUERY_FIELDS,
  ragTokenizer,
  RagflowSynonyms,
  splitWhitespace,
  subSpecialChar,
  TermWeighter,
  type SynonymSource,
} from '@ragline/rag-tokenizer';
import { pythonRound } from './tags.js';

/** The full-text query RAGFlow's tag_content runs against the tag knowledge bases (FulltextQueryer.paragraph). */
export interface TagMatchQuery {
  /** RAGFlow's query fields and boosts */
  fields: readonly string[];
  /** the query_string text: quoted keywords, then the weighted terms `tk^w` (with synonyms `(tk OR (syn ...)^0.2)`) */
  queryString: string;
  /** ES minimum_should_match as a count of clauses: min(3, round(clauses / 10)) */
  minimumShouldMatch: number;
  /** RAGFlow's topn of the match (100) */
  topn: number;
  /** the chunk's keywords, space-joined (RAGFlow's original_query) */
  originalQuery: string;
  /** the same query as weighted terms (keywords weight 1), for stores that build the query themselves */
  terms: Array<{ tokens: string[]; weight: number }>;
}

export interface TagQueryBuilderOptions {
  /** RAGFlow's rag/res (term.freq, ner.json, synonym.json); default none, as rag-tokenizer's default */
  resourcesDir?: string;
  /** the synonym lookup; default RAGFlow's: the resources' synonym.json, else WordNet for a-z tokens */
  synonyms?: SynonymSource;
  /** WordNet synonyms in the default lookup (RAG_WORDNET_SYNONYMS); default true */
  wordnetSynonyms?: boolean;
}

// Python's str.strip() whitespace: JS trim() also strips U+FEFF and keeps \x1c-\x1f and \x85
const PY_STRIP = /^[\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+|[\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+$/g;
const pyStrip = (s: string): string => s.replace(PY_STRIP, '');

/**
 * RAGFlow's FulltextQueryer.paragraph(content_tks, keywords, keywords_topn): the chunk's keywords as
 * quoted phrases, then its `keywordsTopn` heaviest tokens (term weights without preprocessing) with
 * their weight as boost and their synonyms at 0.2.
 */
export function createTagQueryBuilder(opts: TagQueryBuilderOptions = {}) {
  let weighter: TermWeighter | undefined;
  let synonyms: SynonymSource | undefined = opts.synonyms;
  return function paragraph(contentTks: string, keywords: string[], keywordsTopn = 30): TagMatchQuery {
    weighter ??= new TermWeighter(ragTokenizer(), loadTermResources(opts.resourcesDir));
    synonyms ??= new RagflowSynonyms({ dictionary: loadSynonymDictionary(opts.resourcesDir), wordnet: opts.wordnetSynonyms ?? true });
    // content_tks.split() (Python's whitespace)
    const tks = splitWhitespace(contentTks);
    const weights = tks.length ? weighter.weights(tks, false) : [];
    const clauses = keywords.map((k) => `"${pyStrip(k)}"`);
    const terms = keywords.map((k) => ({ tokens: splitWhitespace(k), weight: 1 }));
    const top = [...weights].sort((a, b) => b[1] - a[1]).slice(0, keywordsTopn);
    for (const [raw, w] of top) {
      const syns = synonyms
        .lookup(raw)
        .map((s) => subSpecialChar(s))
        .filter(Boolean)
        .map((s) => fineGrainedTokenize(s))
        .map((s) => (s.indexOf(' ') > 0 ? `"${s}"` : s));
      let tk = subSpecialChar(raw);
      if (tk.indexOf(' ') > 0) tk = `"${tk}"`;
      if (syns.length) tk = `(${tk} OR (${syns.join(' ')})^0.2)`;
      if (tk) {
        clauses.push(`${tk}^${pyFloat(w)}`);
        terms.push({ tokens: [raw], weight: w });
      }
    }
    return {
      fields: QUERY_FIELDS,
      queryString: clauses.join(' '),
      minimumShouldMatch: Math.min(3, pythonRound(clauses.length / 10)),
      topn: 100,
      originalQuery: keywords.join(' '),
      terms,
    };
  };
}
export type TagQueryBuilder = ReturnType<typeof createTagQueryBuilder>;
