import { describe, expect, it } from 'vitest';
import { createHashingBackend, embedTexts, fitsInTokens, type EmbeddingBackend } from '../src/index.js';

// Exercises the default tokenizer from @ragline/tokenizer (tiktoken cl100k_base), nothing injected.
describe('default cl100k_base tokenizer', () => {
  it('counts tokens for the hashing backend', async () => {
    const b = createHashingBackend({ dim: 16 });
    expect((await b.embed(['hello world'])).tokens).toBe(2);
    expect((await b.embed(['hello world', ''])).tokens).toBe(2);
  });

  it('embedTexts truncates each text to maxTokens - 10 tokens', async () => {
    const inner = createHashingBackend({ dim: 16, maxTokens: 13 });
    const seen: string[] = [];
    const b: EmbeddingBackend = { ...inner, embed: (texts, signal) => (seen.push(...texts), inner.embed(texts, signal)) };
    const r = await embedTexts(b, ['one two three four five six', 'short']);
    expect(seen).toEqual(['one two three', 'short']);
    expect(r.tokens).toBe(4);
  });
});

describe('fitsInTokens (skipping the tokenizer for texts that cannot be over the limit)', () => {
  it('never says a text fits when cl100k_base counts more tokens than the limit', async () => {
    const { countTokens } = await import('@ragline/tokenizer');
    const samples = [
      'plain English words and spaces',
      '数据库连接池的最大连接数配置说明',
      'emoji 😀😀😀 and accents éèê',
      'x'.repeat(50),
      '\u{10FFFF}\u{1F600}',
      '&#12345;<td>a</td>'.repeat(5),
    ];
    for (const text of samples) {
      const tokens = countTokens(text);
      for (let max = 1; max <= 3 * text.length + 2; max++) {
        if (fitsInTokens(text, max)) expect(tokens, `${text} within ${max}`).toBeLessThanOrEqual(max);
      }
      // the byte length always settles it
      expect(fitsInTokens(text, Buffer.byteLength(text))).toBe(true);
      expect(fitsInTokens(text, Buffer.byteLength(text) - 1)).toBe(false);
    }
  });

  it('embedTexts tokenizes only the texts that may be over the limit', async () => {
    const cut: string[] = [];
    const truncateTokens = (s: string, max: number) => (cut.push(s), s.split(' ').slice(0, max).join(' '));
    const inner = createHashingBackend({ dim: 8, maxTokens: 110, countTokens: (s) => s.length });
    const seen: string[] = [];
    const b: EmbeddingBackend = { ...inner, embed: (texts, signal) => (seen.push(...texts), inner.embed(texts, signal)) };
    const short = 'a short chunk';
    const long = Array.from({ length: 60 }, (_, i) => `w${i}`).join(' ');
    await embedTexts(b, [short, long, '中文'.repeat(16)], { truncateTokens });
    // limit 100 tokens: 13 chars (<= 33) and 32 CJK chars (96 bytes) cannot be over it; 230 chars may be
    expect(cut).toEqual([long]);
    expect(seen).toEqual([short, long.split(' ').slice(0, 100).join(' '), '中文'.repeat(16)]);
  });
});
