import { describe, expect, it } from 'vitest';
import { createHashingBackend, embedTexts, type EmbeddingBackend } from '../src/index.js';

// Exercises the default tokenizer from @ragline/parsing (tiktoken cl100k_base), nothing injected.
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
