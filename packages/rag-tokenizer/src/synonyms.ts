import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SynonymSource } from './query.js';
import { wordnetSynonyms } from './wordnet.js';

export interface SynonymOptions {
  /** RAGFlow's synonym.json (term -> synonym or list of synonyms); keys are matched lower-cased */
  dictionary?: Record<string, unknown>;
  /** fall back to WordNet for words of a-z only, as RAGFlow does; default true */
  wordnet?: boolean;
  /** most synonyms returned for one term; default 8 (RAGFlow's lookup topn) */
  topN?: number;
}

/** RAGFlow's synonym.json from its rag/res directory, or undefined when the directory has none. */
export function loadSynonymDictionary(resourcesDir: string | undefined): Record<string, unknown> | undefined {
  if (!resourcesDir) return undefined;
  const path = join(resourcesDir, 'synonym.json');
  if (!existsSync(path)) return undefined;
  const parsed: unknown = JSON.parse(readFileSync(path, 'utf8'));
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error(`${path}: expected an object of term -> synonyms`);
  return parsed as Record<string, unknown>;
}

/**
 * RAGFlow's synonym lookup (rag/nlp/synonym.py Dealer.lookup): the custom dictionary first; a term
 * it lacks that is all a-z gets WordNet's synset names instead.
 */
export class RagflowSynonyms implements SynonymSource {
  private readonly dictionary = new Map<string, string[]>();
  private readonly wordnet: boolean;
  private readonly topN: number;

  constructor(options: SynonymOptions = {}) {
    for (const [k, v] of Object.entries(options.dictionary ?? {})) {
      const list = typeof v === 'string' ? [v] : Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string') : [];
      this.dictionary.set(k.toLowerCase(), list);
    }
    this.wordnet = options.wordnet ?? true;
    this.topN = options.topN ?? 8;
  }

  lookup(term: string): string[] {
    if (!term) return [];
    const found = this.dictionary.get(term.trim().replace(/[ \t]+/g, ' '));
    if (found?.length) return found.slice(0, this.topN);
    if (this.wordnet && /^[a-z]+$/.test(term)) return wordnetSynonyms(term).slice(0, this.topN);
    return [];
  }
}
