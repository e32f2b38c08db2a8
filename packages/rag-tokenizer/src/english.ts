import { createRequire } from 'node:module';
import { splitWhitespace } from './text.js';
import { morphy } from './wordnet.js';

const require = createRequire(import.meta.url);

/** NLTK's WordNetLemmatizer.lemmatize(word) (noun): the shortest of morphy's lemmas, else the word. */
export function lemmatize(word: string): string {
  const lemmas = morphy(word, 'n');
  if (!lemmas.length) return word;
  return lemmas.reduce((best, l) => (l.length < best.length ? l : best));
}

// snowball-stemmers is CommonJS without type declarations
const snowball = require('snowball-stemmers') as { newStemmer(language: string): { stem(word: string): string } };
const stemmer = snowball.newStemmer('english');

/** Snowball English (Porter2) stem. */
export function stem(word: string): string {
  return stemmer.stem(word);
}

/** RAGFlow's English normalisation of one token: lemmatise then stem, only for [a-zA-Z_-]+. */
export function normalizeToken(token: string): string {
  return /^[a-zA-Z_-]+$/.test(token) ? stem(lemmatize(token)) : token;
}

// The Treebank tokenizer's only rules that can fire on text of word characters and spaces
// (every other rule needs punctuation, which the tokenizer has already replaced by spaces).
const CONTRACTIONS = [/\b(can)(not)\b/gi, /\b(gim)(me)\b/gi, /\b(gon)(na)\b/gi, /\b(got)(ta)\b/gi, /\b(lem)(me)\b/gi, /\b(wan)(na)(?=\s)/gi];

/** NLTK's word_tokenize on a run of word characters and spaces. */
export function wordTokenize(text: string): string[] {
  let t = ` ${text} `;
  for (const re of CONTRACTIONS) t = t.replace(re, ' $1 $2 ');
  return splitWhitespace(t);
}
