import { describe, expect, it } from 'vitest';
import { fineGrainedTokenize, tokenize } from '../src/index.js';

describe('tokenize', () => {
  it('splits Chinese into words, not characters or one run', () => {
    const tokens = tokenize('我爱北京天安门').split(' ');
    expect(tokens).toContain('北京');
    expect(tokens).toContain('天安门');
    expect(tokens.length).toBeGreaterThan(2);
    expect(tokens.length).toBeLessThan(7);
  });

  it('lower-cases, drops punctuation and whitespace, single spaces', () => {
    expect(tokenize('Hello,   World!  RAGFlow\n\tis  GREAT.')).toBe('hello world ragflow is great');
  });

  it('folds full-width characters to half-width (NFKC)', () => {
    expect(tokenize('ＡＢＣ１２３　ｄｅｆ')).toBe('abc123 def');
  });

  it('splits Japanese too', () => {
    expect(tokenize('東京都に住んでいます').split(' ')).toContain('東京');
  });

  it('returns an empty string for text without words', () => {
    expect(tokenize('  ，。！ ')).toBe('');
    expect(tokenize('')).toBe('');
  });
});

describe('fineGrainedTokenize', () => {
  it('splits ascii tokens at digit/letter boundaries and - _ .', () => {
    expect(fineGrainedTokenize('gpt4o v1.2_beta x-ray plain')).toBe('gpt 4 o v 1 2 beta x ray plain');
  });

  it('splits long CJK words into overlapping bigrams and keeps short ones', () => {
    expect(fineGrainedTokenize('天安门 北京')).toBe('天安 安门 北京');
  });

  it('works on tokenize output', () => {
    const ltks = tokenize('中华人民共和国 model-v2');
    const sm = fineGrainedTokenize(ltks);
    expect(sm.split(' ')).toEqual(expect.arrayContaining(['model', 'v', '2']));
    expect(sm).not.toMatch(/ {2}/);
  });
});
