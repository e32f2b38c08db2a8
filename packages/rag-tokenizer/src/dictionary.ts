import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

/** A word's entry as RAGFlow's trie stores it: rounded log frequency and part-of-speech tag. */
export interface DictEntry {
  readonly logFreq: number;
  readonly tag: string;
}

const DENOMINATOR = 1_000_000;

/** Sorted word list answering "does any word start with p" by binary search (datrie's has_keys_with_prefix). */
class PrefixIndex {
  private readonly sorted: string[];
  constructor(words: Iterable<string>) {
    this.sorted = [...new Set(words)].sort();
  }
  hasPrefix(p: string): boolean {
    let lo = 0;
    let hi = this.sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.sorted[mid]! < p) lo = mid + 1;
      else hi = mid;
    }
    return lo < this.sorted.length && this.sorted[lo]!.startsWith(p);
  }
}

const reverse = (s: string): string => Array.from(s).reverse().join('');

/**
 * A jieba-format dictionary (`word frequency tag` per line) loaded the way RAGFlow's tokenizer
 * builds its trie: keys lower-cased, the highest rounded log frequency kept for duplicates, and every
 * word also indexed reversed for backward maximum matching.
 */
export class Dictionary {
  private readonly entries = new Map<string, DictEntry>();
  private readonly forward: PrefixIndex;
  private readonly backward: PrefixIndex;

  constructor(text: string) {
    const words: string[] = [];
    for (const raw of text.split('\n')) {
      const line = raw.replace(/[\r\n]+/g, '');
      if (!line) continue;
      const [word = '', freq, tag] = line.split(/[ \t]/);
      // RAGFlow stops loading at the first malformed line (its loader catches the error and keeps what it has)
      if (freq === undefined || tag === undefined || Number.isNaN(Number(freq))) break;
      const key = word.toLowerCase();
      // Python's int() truncates toward zero
      const logFreq = Math.trunc(Math.log(Number(freq) / DENOMINATOR) + 0.5);
      const prev = this.entries.get(key);
      if (!prev || prev.logFreq < logFreq) this.entries.set(key, { logFreq, tag });
      words.push(key);
    }
    this.forward = new PrefixIndex(words);
    this.backward = new PrefixIndex(words.map(reverse));
  }

  get size(): number {
    return this.entries.size;
  }

  get(word: string): DictEntry | undefined {
    return this.entries.get(word.toLowerCase());
  }

  has(word: string): boolean {
    return this.entries.has(word.toLowerCase());
  }

  /** Some word starts with `prefix`. */
  hasPrefix(prefix: string): boolean {
    return this.forward.hasPrefix(prefix.toLowerCase());
  }

  /** Some word ends with `suffix`. */
  hasSuffix(suffix: string): boolean {
    return this.backward.hasPrefix(reverse(suffix.toLowerCase()));
  }

  /** RAGFlow's `freq`: the frequency recovered from the rounded log, 0 for unknown words. */
  freq(word: string): number {
    const e = this.get(word);
    return e ? Math.trunc(Math.exp(e.logFreq) * DENOMINATOR + 0.5) : 0;
  }

  /** RAGFlow's `tag`: the part-of-speech tag, '' for unknown words. */
  tag(word: string): string {
    return this.get(word)?.tag ?? '';
  }

  static fromFile(path: string): Dictionary {
    return new Dictionary(readFileSync(path, 'utf8'));
  }
}

/** Path of the default dictionary: jieba's dict.txt as shipped inside the @node-rs/jieba package. */
export function defaultDictionaryPath(): string {
  return createRequire(import.meta.url).resolve('@node-rs/jieba/dict.txt');
}
