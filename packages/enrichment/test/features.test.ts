import { describe, expect, it } from 'vitest';
import { pyFloat, tokenize } from '@ragline/rag-tokenizer';
import { buildMetadataConfig, createTagQueryBuilder, parseJsonAnswer, parseKeywords, parseTagAnswer, pythonRound, splitForToc, stripThinking, turn2jsonschema } from '../src/index.js';
import { parseQuestions } from '../src/features/questions.js';

describe('answer parsing as RAGFlow does it', () => {
  it('splits keywords on ASCII and full-width separators, keeping the pieces as they are', () => {
    expect(parseKeywords('a, b，c;d；e、f\r\ng\n\n,')).toEqual(['a', ' b', 'c', 'd', 'e', 'f', 'g']);
    expect(parseKeywords(' , ')).toEqual([]);
  });
  it('keeps every question line, blank ones included', () => {
    expect(parseQuestions('Q1?\n\nQ2?')).toEqual(['Q1?', '', 'Q2?']);
  });
  it('drops everything up to the last </think>', () => {
    expect(stripThinking('<think>a</think>b</think>c')).toBe('c');
    expect(stripThinking('plain')).toBe('plain');
  });
  it('reads JSON leniently: fences, trailing commas, single quotes, prose around it', () => {
    expect(parseJsonAnswer('```json\n{"a": 1}\n```')).toEqual({ a: 1 });
    expect(parseJsonAnswer("{'a': 1, 'b': 2,}")).toEqual({ a: 1, b: 2 });
    expect(parseJsonAnswer('Here you go: [{"title": "x", "chunk_id": "0"}]')).toEqual([{ title: 'x', chunk_id: '0' }]);
    expect(parseJsonAnswer('')).toBeUndefined();
  });
  it("keeps the tags whose int() is positive, as int (content_tagging's result)", () => {
    expect(parseTagAnswer('{"a": 7, "b": "3", "c": 0, "d": -1, "e": 2.9, "f": "x", "g": "2.5"}')).toEqual({ a: 7, b: 3, e: 2 });
    expect(parseTagAnswer('[1, 2]')).toEqual({});
  });
  it("rounds halves to even as Python's round", () => {
    expect([0.5, 1.5, 2.5, 2.4999, 2.5001, 3].map(pythonRound)).toEqual([0, 2, 2, 2, 3, 3]);
  });
});

describe('metadata configuration (build_metadata_config)', () => {
  const builtIn = [{ key: 'file_name', description: 'the file name' }];
  it('appends built-ins to a field list and adds their properties to a schema', () => {
    expect(buildMetadataConfig([{ key: 'a', description: 'A' }], builtIn)).toEqual([{ key: 'a', description: 'A' }, ...builtIn]);
    expect(buildMetadataConfig({ type: 'object', properties: { a: { description: 'A' } } }, builtIn)).toEqual({
      type: 'object',
      properties: { a: { description: 'A' }, file_name: { description: 'the file name' } },
    });
    // a dict without properties becomes an empty object schema
    expect(buildMetadataConfig({ type: 'object' }, undefined)).toEqual({ type: 'object', properties: {} });
    expect(buildMetadataConfig(undefined, builtIn)).toEqual(builtIn);
    expect(buildMetadataConfig('junk', undefined)).toEqual([]);
    expect(turn2jsonschema(buildMetadataConfig(undefined, undefined))).toEqual({});
  });
});

describe('TOC batching (split_chunks)', () => {
  it('packs consecutive texts up to the budget, never splitting one; an oversized first text leaves an empty batch', () => {
    expect(splitForToc(['one two', 'three four', 'five'], 4)).toEqual([
      [
        [0, 'one two'],
        [1, 'three four'],
      ],
      [[2, 'five']],
    ]);
    const big = 'word '.repeat(50);
    expect(splitForToc([big, 'x'], 10)).toEqual([[], [[0, big]], [[1, 'x']]]);
  });
});

describe("tag_content's query (FulltextQueryer.paragraph)", () => {
  it('quotes the keywords, boosts the heaviest tokens by weight, and asks min(3, round(n/10)) clauses to match', () => {
    const paragraph = createTagQueryBuilder({ synonyms: { lookup: () => [] } });
    const tokens = tokenize('invoice tax refund guide for small companies');
    const q = paragraph(`guide ${tokens}`, ['tax refund'], 3);
    expect(q.terms).toHaveLength(4);
    expect(q.queryString).toBe(['"tax refund"', ...q.terms.slice(1).map((t) => `${t.tokens[0]}^${pyFloat(t.weight)}`)].join(' '));
    // the three heaviest of the text's tokens, heaviest first
    const ws = q.terms.slice(1).map((t) => t.weight);
    expect([...ws].sort((a, b) => b - a)).toEqual(ws);
    expect(new Set(q.terms.slice(1).map((t) => t.tokens[0])).size).toBe(3);
    for (const t of q.terms.slice(1)) expect(`guide ${tokens}`.split(' ')).toContain(t.tokens[0]);
    expect(q.minimumShouldMatch).toBe(0);
    expect(q.originalQuery).toBe('tax refund');
    expect(q.fields).toContain('important_kwd^30');
    const withSyn = createTagQueryBuilder({ synonyms: { lookup: (t) => (t === 'invoic' || t === 'invoice' ? ['bill of sale'] : []) } });
    // a synonym phrase is fine-grained tokenized and quoted; a single token weighs 1.0
    expect(withSyn(tokenize('invoice'), [], 30).queryString).toBe(`(${tokenize('invoice')} OR ("bill of sale")^0.2)^1.0`);
  });
});
