import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RagTokenizer } from './tokenizer.js';
import { codePointLength as len, splitWhitespace } from './text.js';

const STOP_WORDS = new Set(['请问', '您', '你', '我', '他', '是', '的', '就', '有', '于', '及', '即', '在', '为', '最', '从', '以', '了', '将', '与', '吗', '吧', '中', '#', '什么', '怎么', '哪个', '哪些', '啥', '相关']);
const NER_WEIGHT: Record<string, number> = { toxic: 2, func: 1, corp: 3, loca: 3, sch: 3, stock: 3, firstnm: 1 };
const PUNCT_START = /^[~—\t @#%!<>,.?":;'{}[\]_=()|，。？》•●○↓《；‘’：“”【¥ 】…￥！、·（）×`&\\/「」\\]/u;

/**
 * RAGFlow's optional term resources (rag/res in a RAGFlow checkout or image): `ner.json` (term ->
 * entity type) and `term.freq` (term<TAB>document frequency). Without them RAGFlow, and this, weigh
 * terms by dictionary frequency and part of speech alone.
 */
export interface TermResources {
  ner?: Record<string, string>;
  df?: Map<string, number>;
}

export function loadTermResources(dir: string | undefined): TermResources {
  if (!dir) return {};
  const res: TermResources = {};
  const nerPath = join(dir, 'ner.json');
  if (existsSync(nerPath)) res.ner = JSON.parse(readFileSync(nerPath, 'utf8')) as Record<string, string>;
  const freqPath = join(dir, 'term.freq');
  if (existsSync(freqPath)) {
    const df = new Map<string, number>();
    for (const line of readFileSync(freqPath, 'utf8').split('\n')) {
      if (!line) continue;
      const [term = '', n] = line.split('\t');
      df.set(term, n === undefined ? 0 : parseInt(n, 10));
    }
    res.df = df;
  }
  return res;
}

/** Latin/Greek/Cyrillic words not in the dictionary: 300 for short words, halved every two letters, at least 10. */
function alphabeticOovFrequency(term: string): number | undefined {
  let letters = 0;
  for (const ch of term) {
    if (ch.charCodeAt(0) < 0x80 && ch.length === 1) {
      if (/[A-Za-z]/.test(ch)) letters++;
      else if (!' .-'.includes(ch)) return undefined;
      continue;
    }
    if (/\p{L}/u.test(ch) && /[\p{Script=Latin}\p{Script=Greek}\p{Script=Cyrillic}]/u.test(ch)) letters++;
    else if (!' .-'.includes(ch)) return undefined;
  }
  if (!letters) return undefined;
  return Math.max(10, Math.round(300 / 2 ** (Math.max(0, letters - 3) / 2)));
}

/** numpy.sum's pairwise summation, so normalised weights agree with RAGFlow's to the last bit. */
function numpySum(a: number[], start = 0, n = a.length): number {
  if (n < 8) {
    let res = 0;
    for (let i = 0; i < n; i++) res += a[start + i]!;
    return res;
  }
  if (n <= 128) {
    const r = a.slice(start, start + 8);
    let i = 8;
    for (; i < n - (n % 8); i += 8) for (let k = 0; k < 8; k++) r[k] = r[k]! + a[start + i + k]!;
    let res = r[0]! + r[1]! + (r[2]! + r[3]!) + (r[4]! + r[5]! + (r[6]! + r[7]!));
    for (; i < n; i++) res += a[start + i]!;
    return res;
  }
  let n2 = Math.floor(n / 2);
  n2 -= n2 % 8;
  return numpySum(a, start, n2) + numpySum(a, start + n2, n - n2);
}

const idf = (s: number, n: number): number => Math.log10(10 + (n - s + 0.5) / (s + 0.5));

/** RAGFlow's term_weight.Dealer: how much each query term counts (weights sum to 1). */
export class TermWeighter {
  private readonly ner: Record<string, string>;
  private readonly df: Map<string, number>;

  constructor(
    private readonly tokenizer: RagTokenizer,
    resources: TermResources = {},
  ) {
    this.ner = resources.ner ?? {};
    this.df = resources.df ?? new Map();
  }

  entityType(t: string): string {
    return Object.hasOwn(this.ner, t) ? this.ner[t]! : '';
  }

  pretoken(txt: string, num = false, stopWords = true): string[] {
    const res: string[] = [];
    for (const t of splitWhitespace(this.tokenizer.tokenize(txt))) {
      if ((stopWords && STOP_WORDS.has(t)) || (/^[0-9]$/.test(t) && !num)) continue;
      if (PUNCT_START.test(t)) continue;
      if (t) res.push(t);
    }
    return res;
  }

  /** Joins runs of one-character (or 1-2 letter/digit) terms, as RAGFlow's token_merge. */
  tokenMerge(tks: string[]): string[] {
    const oneTerm = (t: string): boolean => len(t) === 1 || /^[0-9a-z]{1,2}$/.test(t);
    const res: string[] = [];
    for (let i = 0; i < tks.length; ) {
      if (i === 0 && oneTerm(tks[0]!) && tks.length > 1 && len(tks[1]!) > 1 && !/^[0-9a-zA-Z]/.test(tks[1]!)) {
        res.push(tks.slice(0, 2).join(' '));
        i = 2;
        continue;
      }
      let j = i;
      while (j < tks.length && tks[j] && !STOP_WORDS.has(tks[j]!) && oneTerm(tks[j]!)) j++;
      if (j - i > 1) {
        if (j - i < 5) {
          res.push(tks.slice(i, j).join(' '));
          i = j;
        } else {
          res.push(tks.slice(i, i + 2).join(' '));
          i += 2;
        }
      } else {
        if (tks[i]!.length > 0) res.push(tks[i]!);
        i++;
      }
    }
    return res.filter(Boolean);
  }

  /** Joins adjacent Latin words into one term unless either is a known function word. */
  split(txt: string): string[] {
    const tks: string[] = [];
    for (const t of splitWhitespace(txt.replace(/[ \t]+/g, ' '))) {
      const last = tks[tks.length - 1];
      if (last !== undefined && /[a-zA-Z]$/.test(last) && /[a-zA-Z]$/.test(t) && this.entityType(t) !== 'func' && this.entityType(last) !== 'func') {
        tks[tks.length - 1] = `${last} ${t}`;
      } else tks.push(t);
    }
    return tks;
  }

  weights(tks: string[], preprocess = true): Array<[string, number]> {
    const tw: Array<[string, number]> = [];
    const weigh = (terms: string[]): void => {
      for (const t of terms) tw.push([t, (0.3 * idf(this.freq(t), 10_000_000) + 0.7 * idf(this.docFreq(t), 1_000_000_000)) * (this.nerWeight(t) * this.posWeight(t))]);
    };
    if (!preprocess) weigh(tks);
    else for (const tk of tks) weigh(this.tokenMerge(this.pretoken(tk, true)));
    const sum = numpySum(tw.map(([, w]) => w));
    return tw.map(([t, w]) => [t, w / sum]);
  }

  private nerWeight(t: string): number {
    if (/^[0-9,.]{2,}$/.test(t)) return 2;
    if (/^[a-z]{1,2}$/.test(t)) return 0.01;
    const type = this.entityType(t);
    if (!type) return 1;
    return NER_WEIGHT[type] ?? 1;
  }

  private posWeight(t: string): number {
    const tag = this.tokenizer.tag(t);
    if (tag === 'r' || tag === 'c' || tag === 'd') return 0.3;
    if (tag === 'ns' || tag === 'nt') return 3;
    if (tag === 'n') return 2;
    if (/^[0-9-]/.test(tag)) return 2;
    return 1;
  }

  private fineParts(t: string): string[] {
    return splitWhitespace(this.tokenizer.fineGrainedTokenize(t)).filter((p) => len(p) > 1);
  }

  private freq(t: string): number {
    if (/^[0-9. -]{2,}$/.test(t)) return 3;
    let s = this.tokenizer.freq(t);
    if (!s) {
      const oov = alphabeticOovFrequency(t);
      if (oov !== undefined) return oov;
    }
    if (!s && len(t) >= 4) {
      const parts = this.fineParts(t);
      s = parts.length > 1 ? Math.min(...parts.map((p) => this.freq(p))) / 6 : 0;
    }
    return Math.max(s, 10);
  }

  private docFreq(t: string): number {
    if (/^[0-9. -]{2,}$/.test(t)) return 5;
    const known = this.df.get(t);
    if (known !== undefined) return known + 3;
    const oov = alphabeticOovFrequency(t);
    if (oov !== undefined) return oov;
    if (len(t) >= 4) {
      const parts = this.fineParts(t);
      if (parts.length > 1) return Math.max(3, Math.min(...parts.map((p) => this.docFreq(p))) / 6);
    }
    return 3;
  }
}
