import { describe, expect, it } from 'vitest';
import { countTokens, truncateTokens } from '../src/index.js';

// Expected counts are cl100k_base values published in OpenAI's tiktoken examples.
describe('countTokens (cl100k_base)', () => {
  it.each([
    ['hello world', 2],
    ['tiktoken is great!', 6],
    ['antidisestablishmentarianism', 6],
    ['2 + 2 = 4', 7],
    ['お誕生日おめでとう', 9],
    ['', 0],
  ])('%j has %i tokens', (text, n) => {
    expect(countTokens(text)).toBe(n);
  });

  it('counts special-token text as ordinary text instead of throwing', () => {
    expect(countTokens('<|endoftext|>')).toBeGreaterThan(1);
  });
});

describe('truncateTokens', () => {
  it('keeps the first n tokens', () => {
    expect(truncateTokens('tiktoken is great!', 3)).toBe('tiktoken');
    expect(truncateTokens('tiktoken is great!', 5)).toBe('tiktoken is great');
  });
  it('returns short text unchanged and nothing for n <= 0', () => {
    expect(truncateTokens('hello world', 10)).toBe('hello world');
    expect(truncateTokens('hello world', 0)).toBe('');
  });
});
