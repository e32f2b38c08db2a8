import { isChinese, strQ2B, tradToSimp } from './chinese.js';
import { Dictionary, type DictEntry } from './dictionary.js';
import { normalizeToken, wordTokenize } from './english.js';
import { codePointLength as len, codePoints as chars, splitWhitespace } from './text.js';

type Scored = readonly [token: string, entry: DictEntry];
type Path = readonly Scored[];

const UNKNOWN_IN_DFS: DictEntry = { logFreq: -12, tag: '' };
const UNKNOWN_IN_MATCH: DictEntry = { logFreq: 0, tag: '' };
const MAX_DEPTH = 10;

// RAGFlow's SPLIT_CHAR: punctuation runs and ASCII alphanumeric runs, kept (capture group) when splitting
const SPLIT_CHAR = /([ ,.<>/?;:'[\]\\`!@#$%^&*(){}|_+=《》，。？、；‘’：“”【】~！￥%…（）—-]+|[a-zA-Z0-9,.-]+)/u;
// Python's \W (str patterns): anything but Unicode letters, numbers and the underscore
const NON_WORD = /[^\p{L}\p{N}_]+/gu;


/**
 * RAGFlow's rag_tokenizer (infiniflow/infinity python/infinity_sdk/infinity/rag_tokenizer.py, which
 * ragflow's rag/nlp/rag_tokenizer.py subclasses): the tokens RAGFlow writes to `*_ltks` / `*_tks`
 * and searches them with. Chinese by dictionary (forward and backward maximum matching, disagreements
 * settled by a scored depth-first search), everything else by NLTK's word tokenizer, WordNet
 * lemmatiser and Snowball stemmer. Output equals RAGFlow's for the same dictionary.
 */
export class RagTokenizer {
  constructor(readonly dictionary: Dictionary) {}

  freq(token: string): number {
    return this.dictionary.freq(token);
  }

  tag(token: string): string {
    return this.dictionary.tag(token);
  }

  tokenize(line: string): string {
    let text = line.replace(NON_WORD, ' ');
    text = tradToSimp(strQ2B(text).toLowerCase());
    const res: string[] = [];
    for (const [segment, zh] of this.splitByLang(text)) {
      if (!zh) {
        res.push(...wordTokenize(segment).map(normalizeToken));
        continue;
      }
      if (len(segment) < 2 || /^[a-z.-]+$/.test(segment) || /^[0-9.-]+$/.test(segment)) {
        res.push(segment);
        continue;
      }
      res.push(...this.segmentChinese(segment));
    }
    return this.merge(res.join(' '));
  }

  fineGrainedTokenize(tokens: string): string {
    const tks = splitWhitespace(tokens);
    const zhNum = tks.filter((t) => isChinese(chars(t)[0])).length;
    if (zhNum < tks.length * 0.2) return tks.flatMap((t) => t.split('/')).join(' ');
    const res: string[] = [];
    for (const tk of tks) {
      if (len(tk) < 3 || /^[0-9,.-]+$/.test(tk)) {
        res.push(tk);
        continue;
      }
      // RAGFlow keeps tokens over 10 characters whole (its search list then holds only the token)
      const paths: Path[] = [];
      if (len(tk) <= 10) this.dfs(chars(tk), 0, [], paths, 0);
      if (paths.length < 2) {
        res.push(tk);
        continue;
      }
      const second = this.sortPaths(paths)[1]![0];
      let out: string;
      if (second.length === len(tk)) out = tk;
      else if (/^[a-z.-]+$/.test(tk) && second.some((t) => len(t) < 3)) out = tk;
      else out = second.join(' ');
      res.push(out);
    }
    return res.map(normalizeToken).join(' ');
  }

  /** RAGFlow's _split_by_lang: punctuation/ASCII runs and the pieces between, each cut where Chinese starts or stops. */
  private splitByLang(line: string): Array<[string, boolean]> {
    const pairs: Array<[string, boolean]> = [];
    for (const piece of line.split(SPLIT_CHAR)) {
      if (!piece) continue;
      const cs = chars(piece);
      let start = 0;
      let zh = isChinese(cs[0]);
      for (let e = 1; e < cs.length; e++) {
        const z = isChinese(cs[e]);
        if (z === zh) continue;
        pairs.push([cs.slice(start, e).join(''), zh]);
        start = e;
        zh = z;
      }
      if (start < cs.length) pairs.push([cs.slice(start).join(''), zh]);
    }
    return pairs;
  }

  /** Forward and backward maximum matching; where they disagree, the best-scoring DFS segmentation. */
  private segmentChinese(segment: string): string[] {
    const res: string[] = [];
    const fw = this.maxForward(segment);
    const bw = this.maxBackward(segment);
    const best = (s: string): string => {
      const paths: Path[] = [];
      this.dfs(chars(s), 0, [], paths, 0);
      return this.sortPaths(paths)[0]![0].join(' ');
    };
    let i = 0;
    let j = 0;
    let same = 0;
    while (i + same < bw.length && j + same < fw.length && bw[i + same] === fw[j + same]) same++;
    if (same > 0) res.push(fw.slice(j, j + same).join(' '));
    let bi = i + same;
    let fj = j + same;
    j = fj + 1;
    i = bi + 1;
    while (i < bw.length && j < fw.length) {
      const b = bw.slice(bi, i).join('');
      const f = fw.slice(fj, j).join('');
      if (b !== f) {
        if (len(b) > len(f)) j++;
        else i++;
        continue;
      }
      if (bw[i] !== fw[j]) {
        i++;
        j++;
        continue;
      }
      res.push(best(fw.slice(fj, j).join('')));
      same = 1;
      while (i + same < bw.length && j + same < fw.length && bw[i + same] === fw[j + same]) same++;
      res.push(fw.slice(j, j + same).join(' '));
      bi = i + same;
      fj = j + same;
      j = fj + 1;
      i = bi + 1;
    }
    if (bi < bw.length) res.push(best(fw.slice(fj).join('')));
    return res;
  }

  private entry(token: string, unknown: DictEntry): DictEntry {
    return this.dictionary.get(token) ?? unknown;
  }

  private maxForward(line: string): string[] {
    const cs = chars(line);
    const d = this.dictionary;
    const res: string[] = [];
    for (let s = 0; s < cs.length; ) {
      let e = s + 1;
      let t = cs.slice(s, e).join('');
      while (e < cs.length && d.hasPrefix(t)) {
        e++;
        t = cs.slice(s, e).join('');
      }
      while (e - 1 > s && !d.has(t)) {
        e--;
        t = cs.slice(s, e).join('');
      }
      res.push(t);
      s = e;
    }
    return res;
  }

  private maxBackward(line: string): string[] {
    const cs = chars(line);
    const d = this.dictionary;
    const res: string[] = [];
    for (let s = cs.length - 1; s >= 0; s--) {
      const e = s + 1;
      let t = cs.slice(s, e).join('');
      while (s > 0 && d.hasSuffix(t)) {
        s--;
        t = cs.slice(s, e).join('');
      }
      while (s + 1 < e && !d.has(t)) {
        s++;
        t = cs.slice(s, e).join('');
      }
      res.push(t);
    }
    return res.reverse();
  }

  /** RAGFlow's dfs_: every dictionary segmentation of `cs` from `s`, at most MAX_DEPTH tokens deep. */
  private dfs(cs: string[], s: number, pre: Path, out: Path[], depth: number): number {
    const d = this.dictionary;
    if (depth > MAX_DEPTH) {
      if (s < cs.length) out.push([...pre, [cs.slice(s).join(''), UNKNOWN_IN_DFS]]);
      return s;
    }
    if (s >= cs.length) {
      out.push(pre);
      return s;
    }
    // a run of 5+ identical characters is taken as one token of up to 10
    if (s < cs.length - 4) {
      const c = cs[s];
      let repetitive = true;
      for (let k = 1; k < 5; k++) {
        if (s + k >= cs.length || cs[s + k] !== c) {
          repetitive = false;
          break;
        }
      }
      if (repetitive) {
        let end = s;
        while (end < cs.length && cs[end] === c) end++;
        const mid = s + Math.min(10, end - s);
        const t = cs.slice(s, mid).join('');
        return Math.max(s, this.dfs(cs, mid, [...pre, [t, this.entry(t, UNKNOWN_IN_DFS)]], out, depth + 1));
      }
    }
    let start = s + 1;
    if (s + 2 <= cs.length) {
      if (d.hasPrefix(cs[s]!) && !d.hasPrefix(cs.slice(s, s + 2).join(''))) start = s + 2;
    }
    if (pre.length > 2 && len(pre[pre.length - 1]![0]) === 1 && len(pre[pre.length - 2]![0]) === 1 && len(pre[pre.length - 3]![0]) === 1) {
      if (d.hasPrefix(pre[pre.length - 1]![0] + (cs[s] ?? ''))) start = s + 2;
    }
    let res = s;
    for (let e = start; e <= cs.length; e++) {
      const t = cs.slice(s, e).join('');
      if (e > s + 1 && !d.hasPrefix(t)) break;
      const entry = d.get(t);
      if (entry) res = Math.max(res, this.dfs(cs, e, [...pre, [t, entry]], out, depth + 1));
    }
    if (res > s) return res;
    const t = cs[s]!;
    return this.dfs(cs, s + 1, [...pre, [t, this.entry(t, UNKNOWN_IN_DFS)]], out, depth + 1);
  }

  /** RAGFlow's score_: fewer tokens, more multi-character tokens, more frequent tokens. */
  private score(path: Path): [string[], number] {
    let f = 0;
    let l = 0;
    const tks: string[] = [];
    for (const [tk, entry] of path) {
      f += entry.logFreq;
      l += len(tk) < 2 ? 0 : 1;
      tks.push(tk);
    }
    l /= tks.length;
    return [tks, 30 / tks.length + l + f];
  }

  /** Best first; ties keep their discovery order, as Python's stable sorted(reverse=True) does. */
  private sortPaths(paths: Path[]): Array<[string[], number]> {
    return paths.map((p) => this.score(p)).sort((a, b) => b[1] - a[1]);
  }

  /** RAGFlow's merge_: rejoins up to 5 adjacent tokens whose concatenation is a dictionary word with punctuation or ASCII in it. */
  private merge(tokens: string): string {
    const tks = splitWhitespace(tokens.replace(/ +/g, ' '));
    const res: string[] = [];
    for (let s = 0; s < tks.length; ) {
      let end = s + 1;
      for (let e = s + 2; e < Math.min(tks.length + 2, s + 6); e++) {
        const tk = tks.slice(s, e).join('');
        if (SPLIT_CHAR.test(tk) && this.freq(tk)) end = e;
      }
      res.push(tks.slice(s, end).join(''));
      s = end;
    }
    return res.join(' ');
  }
}
