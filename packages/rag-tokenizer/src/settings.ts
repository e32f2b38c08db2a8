import { env, type Settings } from '@ragline/config';

/**
 * RAGFlow's tokenizer resources, for the `*_ltks` fields the parser writes and the queries search
 * runs; `configureRagTokenizer` takes them. Read by the parser and the CLI.
 */
export const RagTokenizerResourceSettings = {
  RAG_TOKENIZER_DICT: env
    .optional(env.existing('file'))
    .describe("segmentation dictionary; RAGFlow's `rag/res/huqie.txt` gives RAGFlow's exact tokens; unset: jieba's dictionary"),
  RAGFLOW_RES_DIR: env
    .optional(env.existing('directory'))
    .describe("RAGFlow's `rag/res` directory: `ner.json` and `term.freq` weigh query terms, `synonym.json` adds synonyms"),
  RAG_WORDNET_SYNONYMS: env.bool.default(true).describe('add WordNet synonyms to English queries, as RAGFlow does'),
};
export type RagTokenizerResourceSettings = Settings<typeof RagTokenizerResourceSettings>;
