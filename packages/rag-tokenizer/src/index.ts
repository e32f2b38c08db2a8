import { Dictionary, defaultDictionaryPath } from './dictionary.js';
import { RagTokenizer } from './tokenizer.js';

export { Dictionary, defaultDictionaryPath, type DictEntry } from './dictionary.js';
export { RagTokenizer } from './tokenizer.js';
export { isChinese, strQ2B, tradToSimp } from './chinese.js';
export { lemmatize, normalizeToken, stem } from './english.js';

let shared: RagTokenizer | undefined;
let sharedPath: string | undefined;

/**
 * Chooses the dictionary of the process-wide tokenizer: RAGFlow's own huqie.txt gives RAGFlow's exact
 * tokens; the default is jieba's dictionary from @node-rs/jieba. Takes effect before first use.
 */
export function useDictionary(path: string | undefined): void {
  if (path === sharedPath) return;
  sharedPath = path;
  shared = undefined;
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
