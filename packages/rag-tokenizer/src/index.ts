import { Dictionary, defaultDictionaryPath } from './dictionary.js';
import { FulltextQueryer, NO_SYNONYMS, type SynonymSource } from './query.js';
import { TermWeighter, loadTermResources } from './term-weight.js';
import { RagTokenizer } from './tokenizer.js';

export { Dictionary, defaultDictionaryPath, type DictEntry } from './dictionary.js';
export { RagTokenizer } from './tokenizer.js';
export { isChinese, strQ2B, tradToSimp } from './chinese.js';
export { lemmatize, normalizeToken, stem } from './english.js';
export { TermWeighter, loadTermResources, type TermResources } from './term-weight.js';
export {
  FulltextQueryer,
  QUERY_FIELDS,
  NO_SYNONYMS,
  isChineseQuery,
  removeQuestionWords,
  subSpecialChar,
  pyFloat,
  type FulltextQuery,
  type SynonymSource,
  type WeightedTerm,
} from './query.js';

let shared: RagTokenizer | undefined;
let sharedPath: string | undefined;
let sharedQueryer: FulltextQueryer | undefined;
let resourcesDir: string | undefined;
let synonyms: SynonymSource = NO_SYNONYMS;

/**
 * Chooses the dictionary of the process-wide tokenizer: RAGFlow's own huqie.txt gives RAGFlow's exact
 * tokens; the default is jieba's dictionary from @node-rs/jieba. Takes effect before first use.
 */
export function useDictionary(path: string | undefined): void {
  if (path === sharedPath) return;
  sharedPath = path;
  shared = undefined;
  sharedQueryer = undefined;
}

/**
 * Where RAGFlow's term resources are (its rag/res: ner.json, term.freq) and which synonyms to use;
 * without them queries are weighted as a RAGFlow without those files weighs them.
 */
export function useQueryResources(options: { resourcesDir?: string; synonyms?: SynonymSource }): void {
  resourcesDir = options.resourcesDir;
  synonyms = options.synonyms ?? NO_SYNONYMS;
  sharedQueryer = undefined;
}

/** The process-wide FulltextQueryer over the process-wide tokenizer. */
export function fulltextQueryer(): FulltextQueryer {
  const tk = ragTokenizer();
  sharedQueryer ??= new FulltextQueryer(tk, new TermWeighter(tk, loadTermResources(resourcesDir)), synonyms);
  return sharedQueryer;
}

/** The process-wide tokenizer, its dictionary loaded on first use (about a second for 350k words). */
export function ragTokenizer(): RagTokenizer {
  shared ??= new RagTokenizer(Dictionary.fromFile(sharedPath ?? defaultDictionaryPath()));
  return shared;
}

/** RAGFlow's rag_tokenizer.tokenize: the `content_ltks` / `title_tks` form of a text. */
export function tokenize(text: string): string {
  return ragTokenizer().tokenize(text);
}

/** RAGFlow's rag_tokenizer.fine_grained_tokenize over tokenize's output: the `*_sm_ltks` / `*_sm_tks` form. */
export function fineGrainedTokenize(tokens: string): string {
  return ragTokenizer().fineGrainedTokenize(tokens);
}
