import { describe, expect, it } from 'vitest';
import { Tiktoken } from 'js-tiktoken/lite';
import cl100k_base from 'js-tiktoken/ranks/cl100k_base';
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

describe('long runs without whitespace', () => {
  // Letters only, so the whole run is one BPE piece for the reference encoder.
  const run = (n: number): string => Array.from({ length: n }, (_, i) => 'etaoinshrdlucmfw'[(i * 7 + (i >> 3)) % 16]).join('');

  it('stay within a few percent of the exact count', () => {
    const text = `prefix ${run(1200)} suffix`;
    const exact = new Tiktoken(cl100k_base).encode(text, [], []).length;
    const counted = countTokens(text);
    expect(Math.abs(counted - exact) / exact).toBeLessThan(0.05);
  });

  it('are counted in linear time (a base64-like 60,000-character run)', () => {
    const started = Date.now();
    expect(countTokens(run(60_000))).toBeGreaterThan(5_000);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('truncate consistently with the count', () => {
    const text = run(2_000);
    const head = truncateTokens(text, 100);
    expect(text.startsWith(head)).toBe(true);
    expect(countTokens(head)).toBeLessThanOrEqual(101);
  });
});
