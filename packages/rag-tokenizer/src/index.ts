import { Dictionary, defaultDictionaryPath } from './dictionary.js';
import { FulltextQueryer, type SynonymSource } from './query.js';
import { RagflowSynonyms, loadSynonymDictionary } from './synonyms.js';
import { TermWeighter, loadTermResources } from './term-weight.js';
import { RagTokenizer } from './tokenizer.js';

export { Dictionary, defaultDictionaryPath, type DictEntry } from './dictionary.js';
export { RagTokenizer } from './tokenizer.js';
export { isChinese, strQ2B, tradToSimp } from './chinese.js';
export { splitWhitespace } from './text.js';
export { lemmatize, normalizeToken, stem } from './english.js';
export { morphy, wordnetSynonyms, type Pos } from './wordnet.js';
export { RagflowSynonyms, loadSynonymDictionary, type SynonymOptions } from './synonyms.js';
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
let synonyms: SynonymSource | undefined;

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
 * without them queries are weighted as a RAGFlow without those files weighs them. Synonyms default
 * to RAGFlow's: the directory's synonym.json, else WordNet for a-z words.
 */
export function useQueryResources(options: { resourcesDir?: string; synonyms?: SynonymSource }): void {
  resourcesDir = options.resourcesDir;
  synonyms = options.synonyms;
  sharedQueryer = undefined;
}

export interface RagTokenizerSettings {
  /** the segmentation dictionary (RAGFlow's huqie.txt for RAGFlow's exact tokens); default jieba's */
  dictionary?: string;
  /** RAGFlow's rag/res directory: ner.json, term.freq, synonym.json (each optional) */
  resourcesDir?: string;
  /** WordNet synonyms for English query words, as RAGFlow adds them; default true */
  wordnetSynonyms?: boolean;
}

/** Sets up the process-wide tokenizer and query side from a service's config; files are read on first use. */
export function configureRagTokenizer(settings: RagTokenizerSettings = {}): void {
  useDictionary(settings.dictionary);
  useQueryResources({
    resourcesDir: settings.resourcesDir,
    synonyms: new RagflowSynonyms({ dictionary: loadSynonymDictionary(settings.resourcesDir), wordnet: settings.wordnetSynonyms ?? true }),
  });
}

/** The process-wide FulltextQueryer over the process-wide tokenizer. */
export function fulltextQueryer(): FulltextQueryer {
  const tk = ragTokenizer();
  synonyms ??= new RagflowSynonyms({ dictionary: loadSynonymDictionary(resourcesDir) });
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
export { RagTokenizerResourceSettings } from './settings.js';
