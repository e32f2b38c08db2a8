import { configureRagTokenizer, type RagTokenizerResourceSettings } from '@ragline/parsing';

/** Points the process's RAGFlow tokenizer (chunk token fields, search queries) at the configured resources. */
export function configureTokenizer(cfg: RagTokenizerResourceSettings): void {
  configureRagTokenizer({ dictionary: cfg.RAG_TOKENIZER_DICT, resourcesDir: cfg.RAGFLOW_RES_DIR, wordnetSynonyms: cfg.RAG_WORDNET_SYNONYMS });
}
