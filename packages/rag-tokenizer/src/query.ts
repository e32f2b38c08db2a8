import { strQ2B, tradToSimp } from './chinese.js';
import { codePointLength as len, splitWhitespace } from './text.js';
import type { TermWeighter } from './term-weight.js';
import type { RagTokenizer } from './tokenizer.js';

/** RAGFlow's full-text fields and boosts (FulltextQueryer.query_fields). */
export const QUERY_FIELDS = ['title_tks^10', 'title_sm_tks^5', 'important_kwd^30', 'important_tks^20', 'question_tks^20', 'content_ltks^2', 'content_sm_ltks'] as const;

/** Where synonyms come from: RAGFlow's synonym.json, else WordNet for plain words. */
export interface SynonymSource {
  lookup(term: string): string[];
}

export const NO_SYNONYMS: SynonymSource = { lookup: () => [] };

/** One weighted term of a query, for stores that build the query themselves (the embedded store). */
export interface WeightedTerm {
  /** tokens (already in the indexed form); more than one means a phrase */
  tokens: string[];
  weight: number;
}

export interface FulltextQuery {
  /** Lucene query_string text, exactly as RAGFlow's FulltextQueryer.question builds it */
  queryString: string;
  /** ES minimum_should_match as a fraction (RAGFlow sends it only for Chinese queries) */
  minimumShouldMatch: number;
  /** the terms RAGFlow scores chunks' tokens against when reranking */
  keywords: string[];
  /** the same query as weighted terms */
  terms: WeightedTerm[];
}

/** Python's repr of a float (shortest round-trip; exponent form below 1e-4, '.0' on integers). */
export function pyFloat(x: number): string {
  if (!Number.isFinite(x)) return Number.isNaN(x) ? 'nan' : x > 0 ? 'inf' : '-inf';
  const abs = Math.abs(x);
  if (abs !== 0 && (abs < 1e-4 || abs >= 1e16)) {
    const [m, e] = x.toExponential().split('e') as [string, string];
    const exp = Number(e);
    return `${m}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  }
  const s = String(x);
  return Number.isInteger(x) ? `${s}.0` : s;
}

const fixed4 = (x: number): string => x.toFixed(4);

export function isChineseQuery(line: string): boolean {
  const arr = line.split(/[ \t]+/);
  if (arr.length <= 3) return true;
  const nonAlpha = arr.filter((t) => !/^[a-zA-Z]+$/.test(t)).length;
  return nonAlpha / arr.length >= 0.7;
}

export function subSpecialChar(line: string): string {
  return line.replace(/'/g, '').replace(/([:{}/[\]\-*?"()|+~^])/g, '\\$1').trim();
}

const WWW_PATTERNS: Array<[RegExp, string]> = [
  [/是*(怎么办|什么样的|哪家|一下|那家|请问|啥样|咋样了|什么时候|何时|何地|何人|是否|是不是|多少|哪里|怎么|哪儿|怎么样|如何|哪些|是啥|啥是|啊|吗|呢|吧|咋|什么|有没有|呀|谁|哪位|哪个)是*/gi, ''],
  [/(^| )(what|who|how|which|where|why)('re|'s)? /gi, ' '],
  [
    /(^| )('s|'re|is|are|were|was|do|does|did|don't|doesn't|didn't|has|have|be|there|you|me|your|my|mine|just|please|may|i|should|would|wouldn't|will|won't|done|go|for|with|so|the|a|an|by|i'm|it's|he's|she's|they|they're|you're|as|by|on|in|at|up|out|down|of|to|or|and|if) /gi,
    ' ',
  ],
];

/** Drops question words and function words (RAGFlow's rmWWW); keeps the text if nothing would be left. */
export function removeQuestionWords(txt: string): string {
  let out = txt;
  for (const [re, rep] of WWW_PATTERNS) out = out.replace(re, rep);
  return out || txt;
}

export function addSpaceBetweenEngZh(txt: string): string {
  return txt
    .replace(/([A-Za-z]+[0-9]+)([\u4e00-\u9fa5]+)/g, '$1 $2')
    .replace(/([A-Za-z])([\u4e00-\u9fa5]+)/g, '$1 $2')
    .replace(/([\u4e00-\u9fa5]+)([A-Za-z]+[0-9]+)/g, '$1 $2')
    .replace(/([\u4e00-\u9fa5]+)([A-Za-z])/g, '$1 $2');
}

const QUERY_SPECIALS = /[ :|\r\n\t,，。？?/`!！&^%()[\]{}<>*~'"\\]+/g;
const SM_PUNCT = /[ ,./;'[\]\\`~!@#$%^&*()=+_<>?:"{}|，。；‘’【】、！￥…（）—《》？：“”-]+/g;

/** RAGFlow's FulltextQueryer: a question becomes a weighted full-text query over the token fields. */
export class FulltextQueryer {
  constructor(
    private readonly tokenizer: RagTokenizer,
    private readonly weighter: TermWeighter,
    private readonly synonyms: SynonymSource = NO_SYNONYMS,
  ) {}

  question(text: string, minMatch = 0.6): FulltextQuery | { queryString: undefined; keywords: string[] } {
    const tk = this.tokenizer;
    let txt = addSpaceBetweenEngZh(text);
    txt = tradToSimp(strQ2B(txt.toLowerCase())).replace(QUERY_SPECIALS, ' ').trim();
    if (!tk.tokenize(txt).trim()) return { queryString: undefined, keywords: [] };
    const otxt = txt;
    txt = removeQuestionWords(txt);
    if (!isChineseQuery(txt)) return this.latin(removeQuestionWords(txt));
    return this.chinese(removeQuestionWords(txt), otxt, minMatch);
  }

  private latin(txt: string): FulltextQuery {
    const tks = splitWhitespace(this.tokenizer.tokenize(txt));
    const keywords = tks.filter(Boolean);
    const tksW = this.weighter
      .weights(tks, false)
      .map(([t, w]): [string, number] => [t.replace(/[ \\"'^]/g, ''), w])
      .filter(([t]) => t)
      .map(([t, w]): [string, number] => [t.replace(/^[+-]/, ''), w])
      .filter(([t]) => t.trim())
      .map(([t, w]): [string, number] => [t.trim(), w]);
    const syns: string[] = [];
    const terms: WeightedTerm[] = [];
    for (const [t, w] of tksW.slice(0, 256)) {
      const syn = this.synonyms.lookup(t).map((s) => this.tokenizer.tokenize(s).replace(/'/g, ''));
      keywords.push(...syn);
      const kept = syn.filter((s) => s.trim());
      syns.push(kept.map((s) => `"${s}"^${fixed4(w / 4)}`).join(' '));
      for (const s of kept) terms.push({ tokens: splitWhitespace(s), weight: w / 4 });
    }
    const q: string[] = [];
    tksW.forEach(([t, w], i) => {
      if (i >= syns.length || !t || /^[.^+()-]/.test(t)) return;
      q.push(`(${t}^${fixed4(w)} ${syns[i]})`);
      terms.push({ tokens: [t], weight: w });
    });
    for (let i = 1; i < tksW.length; i++) {
      const [l, lw] = tksW[i - 1]!;
      const [r, rw] = tksW[i]!;
      if (!l.trim() || !r.trim()) continue;
      q.push(`"${l} ${r}"^${fixed4(Math.max(lw, rw) * 2)}`);
      terms.push({ tokens: [l, r], weight: Math.max(lw, rw) * 2 });
    }
    if (!q.length) q.push(txt);
    return { queryString: q.join(' '), minimumShouldMatch: 0, keywords, terms };
  }

  private chinese(txt: string, otxt: string, minMatch: number): FulltextQuery | { queryString: undefined; keywords: string[] } {
    const tkz = this.tokenizer;
    const needFine = (t: string): boolean => len(t) >= 3 && !/^[0-9a-z.+#_*-]+$/.test(t);
    const qs: string[] = [];
    const keywords: string[] = [];
    const terms: WeightedTerm[] = [];
    for (const tt of this.weighter.split(txt).slice(0, 256)) {
      if (!tt) continue;
      keywords.push(tt);
      const twts = this.weighter.weights([tt]);
      const syns = this.synonyms.lookup(tt);
      if (syns.length && keywords.length < 32) keywords.push(...syns);
      const tms: Array<[string, number]> = [];
      // stable sort, heaviest first (Python's sorted by -w)
      for (const [term, w] of [...twts].sort((a, b) => b[1] - a[1])) {
        let sm = needFine(term) ? splitWhitespace(tkz.fineGrainedTokenize(term)) : [];
        sm = sm.map((m) => m.replace(SM_PUNCT, ''));
        sm = sm.filter((m) => len(m) > 1).map(subSpecialChar);
        sm = sm.filter((m) => len(m) > 1);
        if (keywords.length < 32) {
          keywords.push(term.replace(/[ \\"']+/g, ''));
          keywords.push(...sm);
        }
        let tkSyns = this.synonyms.lookup(term).map(subSpecialChar);
        if (keywords.length < 32) keywords.push(...tkSyns.filter(Boolean));
        tkSyns = tkSyns.filter(Boolean).map((s) => tkz.fineGrainedTokenize(s));
        const quotedSyns = tkSyns.map((s) => (s.indexOf(' ') > 0 ? `"${s}"` : s));
        if (keywords.length >= 32) break;
        let q = subSpecialChar(term);
        if (q.indexOf(' ') > 0) q = `"${q}"`;
        if (quotedSyns.length) q = `(${q} OR (${quotedSyns.join(' ')})^0.2)`;
        if (sm.length) q = `${q} OR "${sm.join(' ')}" OR ("${sm.join(' ')}"~2)^0.5`;
        if (q.trim()) {
          tms.push([q, w]);
          terms.push({ tokens: splitWhitespace(term), weight: w });
          for (const s of tkSyns) terms.push({ tokens: splitWhitespace(s), weight: w * 0.2 });
          if (sm.length) terms.push({ tokens: sm, weight: w * 0.5 });
        }
      }
      let group = tms.map(([t, w]) => `(${t})^${pyFloat(w)}`).join(' ');
      if (twts.length > 1) group += ` ("${tkz.tokenize(tt)}"~2)^1.5`;
      const synText = syns.map((s) => `"${tkz.tokenize(subSpecialChar(s))}"`).join(' OR ');
      if (synText && group) group = `(${group})^5 OR (${synText})^0.7`;
      qs.push(group);
    }
    if (!qs.length) return { queryString: undefined, keywords };
    const query = qs
      .filter(Boolean)
      .map((t) => `(${t})`)
      .join(' OR ');
    return { queryString: query || otxt, minimumShouldMatch: minMatch, keywords, terms };
  }

  /**
   * RAGFlow's token_similarity: for each chunk, the share of the query's keyword weight (unigrams
   * 0.4, adjacent pairs 0.6) that the chunk's tokens contain. The query side is weighed once.
   */
  tokenSimilarity(queryTokens: string[], chunks: string[][]): number[] {
    const q = this.weightDict(queryTokens);
    let total = 1e-9;
    for (const v of q.values()) total += v;
    return chunks.map((tokens) => {
      const d = this.weightDict(tokens);
      let s = 1e-9;
      for (const [k, v] of q) if (d.has(k)) s += v;
      return s / total;
    });
  }

  private weightDict(tks: string[]): Map<string, number> {
    const d = new Map<string, number>();
    const wts = this.weighter.weights(tks, false);
    const add = (k: string, v: number): void => {
      d.set(k, (d.get(k) ?? 0) + v);
    };
    wts.forEach(([t, c], i) => {
      add(t, c * 0.4);
      const next = wts[i + 1];
      if (next) add(t + next[0], Math.max(c, next[1]) * 0.6);
    });
    return d;
  }
}
