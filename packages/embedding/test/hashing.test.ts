import { describe, expect, it } from 'vitest';
import { createHashingBackend, vectorField } from '../src/index.js';
import { wordCount } from './helpers.js';

const cosine = (a: Float32Array, b: Float32Array) => a.reduce((s, x, i) => s + x * b[i]!, 0);
const norm = (a: Float32Array) => Math.sqrt(cosine(a, a));

describe('createHashingBackend', () => {
  const b = createHashingBackend({ countTokens: wordCount });

  it('defaults to 1024 dims and a stable model name', async () => {
    expect(await b.dimension()).toBe(1024);
    expect(b.model).toBe('ragline-hash-1024');
    expect(b.name).toBe('hashing');
    const small = createHashingBackend({ dim: 384, model: 'tiny', countTokens: wordCount });
    expect((await small.embed(['x'])).vectors[0]).toHaveLength(384);
    expect(small.model).toBe('tiny');
  });

  it('is deterministic across instances', async () => {
    const other = createHashingBackend({ countTokens: wordCount });
    const [a] = (await b.embed(['The quick brown fox'])).vectors;
    const [c] = (await other.embed(['The quick brown fox'])).vectors;
    expect(Array.from(a!)).toEqual(Array.from(c!));
    expect(a!.some((x) => x !== 0)).toBe(true);
  });

  it('returns unit vectors, also for empty and punctuation-only text', async () => {
    const { vectors } = await b.embed(['hello world', '', '  ', '!!!', '文档解析和向量检索']);
    for (const v of vectors) {
      expect(v.every(Number.isFinite)).toBe(true);
      expect(norm(v)).toBeCloseTo(1, 5);
    }
    expect(Array.from(vectors[1]!)).toEqual(Array.from(vectors[2]!));
  });

  it('ranks similar texts above unrelated ones', async () => {
    const { vectors } = await b.embed([
      'The invoice total is due within thirty days of delivery.',
      'Invoices are due thirty days after the delivery date.',
      'Penguins huddle together to survive the antarctic winter.',
      '知识库中的文档解析任务',
      '文档解析任务失败',
    ]);
    const [inv1, inv2, peng, zh1, zh2] = vectors as [Float32Array, Float32Array, Float32Array, Float32Array, Float32Array];
    expect(cosine(inv1, inv2)).toBeGreaterThan(cosine(inv1, peng) + 0.2);
    expect(cosine(zh1, zh2)).toBeGreaterThan(cosine(zh1, peng) + 0.2);
    expect(cosine(inv1, inv1)).toBeCloseTo(1, 5);
  });

  it('counts tokens with the injected counter', async () => {
    expect((await b.embed(['one two', 'three'])).tokens).toBe(3);
  });

  it('names the vector field like RAGFlow', () => {
    expect(vectorField(1024)).toBe('q_1024_vec');
    expect(vectorField(384)).toBe('q_384_vec');
    expect(() => vectorField(0)).toThrow(RangeError);
  });
});
