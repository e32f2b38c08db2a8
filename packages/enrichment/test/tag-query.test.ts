import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { tokenize } from '@ragline/rag-tokenizer';
import { createTagQueryBuilder, TAG_QUERY_KEYWORDS, type TagMatchQuery } from '../src/index.js';

/** RAGFlow's MatchTextExpr as tag_content passes it to the doc store (golden/make_tag_query_golden.py). */
interface Match {
  fields: string[];
  matching_text: string;
  topn: number;
  minimum_should_match: number;
  original_query: string;
}
interface Row {
  kind: string;
  title: string;
  text: string;
  important_kwd: string[];
  title_tks: string;
  content_ltks: string;
  match: Match;
  match_nosyn: Match;
}

const rows: Row[] = readFileSync(new URL('../golden/tag_query.jsonl', import.meta.url), 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((l) => JSON.parse(l) as Row);

// Boosts may differ from RAGFlow's in the last bit: V8's Math.log10 and the C library's log10 that
// Python calls round differently for a small share of inputs (see packages/rag-tokenizer/golden).
const NUMBER = /\d+\.\d+(?:e-\d+)?/g;
function sameText(a: string, b: string): boolean {
  if (a === b) return true;
  if (a.replace(NUMBER, '#') !== b.replace(NUMBER, '#')) return false;
  const na = a.match(NUMBER) ?? [];
  const nb = b.match(NUMBER) ?? [];
  return na.every((x, i) => Math.abs(Number(x) - Number(nb[i])) <= 1e-12 * Math.max(1, Math.abs(Number(x))));
}

const asRagflow = (q: TagMatchQuery): Match => ({
  fields: [...q.fields],
  matching_text: q.queryString,
  topn: q.topn,
  minimum_should_match: q.minimumShouldMatch,
  original_query: q.originalQuery,
});

function compare(build: (r: Row) => TagMatchQuery, want: (r: Row) => Match) {
  let exact = 0;
  const misses: string[] = [];
  for (const r of rows) {
    const got = asRagflow(build(r));
    const w = want(r);
    if (JSON.stringify(got) === JSON.stringify(w)) exact++;
    const same = sameText(got.matching_text, w.matching_text) && JSON.stringify({ ...got, matching_text: '' }) === JSON.stringify({ ...w, matching_text: '' });
    if (!same) misses.push(`${r.kind} ${JSON.stringify(r.text.slice(0, 80))}\n  want ${JSON.stringify(w).slice(0, 600)}\n  got  ${JSON.stringify(got).slice(0, 600)}`);
  }
  return { exact, misses };
}

const report = (label: string, { exact, misses }: { exact: number; misses: string[] }) => {
  console.log(`${label}: ${rows.length - misses.length}/${rows.length} identical (${exact} byte for byte)`);
  if (misses.length) console.log(misses.slice(0, 10).join('\n'));
};

describe("tag_content's query (golden: RAGFlow's Dealer.tag_content -> FulltextQueryer.paragraph)", () => {
  // the enricher's default builder (WordNet synonyms), and RAG_WORDNET_SYNONYMS=false's
  const withSynonyms = createTagQueryBuilder();
  const noSynonyms = createTagQueryBuilder({ wordnetSynonyms: false });
  const query = (b: typeof withSynonyms, r: Row, titleTks: string, contentLtks: string) => b(`${titleTks} ${contentLtks}`, r.important_kwd, TAG_QUERY_KEYWORDS);

  it('covers English, Chinese (simplified, traditional, mixed) and short chunks, with and without keywords', () => {
    expect(rows.length).toBeGreaterThanOrEqual(300);
    const kinds = new Set(rows.map((r) => r.kind));
    for (const k of ['en-license', 'en-doc', 'zh-simplified', 'zh-traditional', 'zh-mixed-latin', 'mixed', 'short']) expect(kinds).toContain(k);
    expect(rows.filter((r) => r.important_kwd.length === 0).length).toBeGreaterThan(20);
    expect(rows.filter((r) => r.important_kwd.some((k) => k !== k.trim())).length).toBeGreaterThan(20);
    // every minimum_should_match RAGFlow can ask for occurs, and synonyms change many queries
    expect(new Set(rows.map((r) => r.match.minimum_should_match))).toEqual(new Set([0, 1, 2, 3]));
    expect(rows.filter((r) => r.match.matching_text !== r.match_nosyn.matching_text).length).toBeGreaterThan(100);
  });

  it('builds the same match as RAGFlow from the same chunk tokens (WordNet synonyms, in WordNet order)', () => {
    const res = compare((r) => query(withSynonyms, r, r.title_tks, r.content_ltks), (r) => r.match);
    report('tokens from RAGFlow, synonyms', res);
    expect(res.misses).toEqual([]);
  });

  it('builds the same match as RAGFlow from the same chunk tokens (synonyms off)', () => {
    const res = compare((r) => query(noSynonyms, r, r.title_tks, r.content_ltks), (r) => r.match_nosyn);
    report('tokens from RAGFlow, no synonyms', res);
    expect(res.misses).toEqual([]);
  });

  it("builds the same match from Ragline's own tokens of the title and text", () => {
    // the title as RAGFlow's parsers tokenize it (extension dropped), the text as rag/nlp tokenize() does
    const title = (r: Row) => tokenize(r.title.replace(/\.[a-zA-Z]+$/, ''));
    const content = (r: Row) => tokenize(r.text.replace(/<\/?(table|td|caption|tr|th)( [^<>]{0,12})?>/g, ' '));
    const tokenMisses = rows.filter((r) => title(r) !== r.title_tks || content(r) !== r.content_ltks);
    const res = compare((r) => query(withSynonyms, r, title(r), content(r)), (r) => r.match);
    report("Ragline's tokens, synonyms", res);
    expect(tokenMisses.map((r) => r.text.slice(0, 60))).toEqual([]);
    expect(res.misses).toEqual([]);
  });
});
