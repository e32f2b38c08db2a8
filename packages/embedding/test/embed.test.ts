import { describe, expect, it } from 'vitest';
import {
  createHashingBackend,
  createOpenAICompatibleBackend,
  embedChunksLikeRagflow,
  embedTexts,
  EmbeddingError,
  hashingVector,
  ragflowEmbeddingText,
  type EmbeddingBackend,
} from '../src/index.js';
import { okReply, startServer, wordCount, wordTruncate } from './helpers.js';

const tok = { truncateTokens: wordTruncate };

/** Wraps a real backend to observe batch sizes, concurrency and inputs. */
function observed(inner: EmbeddingBackend, delayMs = 0) {
  const calls: string[][] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const backend: EmbeddingBackend = {
    name: inner.name,
    model: inner.model,
    maxTokens: inner.maxTokens,
    dimension: () => inner.dimension(),
    async embed(texts, signal) {
      calls.push(texts);
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      try {
        await new Promise((r) => setTimeout(r, delayMs));
        return await inner.embed(texts, signal);
      } finally {
        inFlight--;
      }
    },
  };
  return { backend, calls, maxInFlight: () => maxInFlight };
}

describe('embedTexts', () => {
  it('batches, bounds concurrency, truncates to maxTokens - 10 and keeps order', async () => {
    const o = observed(createHashingBackend({ dim: 64, countTokens: wordCount, maxTokens: 13 }), 20);
    const texts = Array.from({ length: 37 }, (_, i) => `text ${i} ` + 'w '.repeat(i));
    const r = await embedTexts(o.backend, texts, { batchSize: 5, concurrency: 3, ...tok });
    expect(o.calls.map((c) => c.length)).toEqual([5, 5, 5, 5, 5, 5, 5, 2]);
    expect(o.maxInFlight()).toBe(3);
    expect(o.calls.flat().every((t) => wordCount(t) <= 3)).toBe(true);
    expect(r.vectors).toHaveLength(37);
    r.vectors.forEach((v, i) => expect(Array.from(v)).toEqual(Array.from(hashingVector(wordTruncate(texts[i]!, 3), 64))));
    expect(r.tokens).toBe(o.calls.flat().reduce((s, t) => s + wordCount(t), 0));
  });

  it('defaults to batches of 16 and returns nothing for no texts', async () => {
    const o = observed(createHashingBackend({ dim: 8, countTokens: wordCount }));
    await embedTexts(o.backend, Array.from({ length: 20 }, (_, i) => `t${i}`), tok);
    expect(o.calls.map((c) => c.length)).toEqual([16, 4]);
    expect(await embedTexts(o.backend, [], tok)).toEqual({ vectors: [], tokens: 0 });
  });

  it('rejects with the first batch failure and starts no further batches', async () => {
    const s = await startServer((req, res, n) => {
      if (n === 2) {
        res.writeHead(422, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { message: 'bad batch' } }));
      } else {
        okReply(res, req.body.input);
      }
    });
    try {
      const b = createOpenAICompatibleBackend({ url: s.base, model: 'm', countTokens: wordCount });
      const err = await embedTexts(b, ['a', 'b', 'c', 'd', 'e', 'f'], { batchSize: 1, concurrency: 1, ...tok }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(EmbeddingError);
      expect((err as EmbeddingError).message).toContain('bad batch');
      expect(s.requests).toHaveLength(2);
    } finally {
      await s.close();
    }
  });
});

describe('embedChunksLikeRagflow', () => {
  it('builds RAGFlow content text: questions, table tags, None', () => {
    expect(ragflowEmbeddingText({ content_with_weight: 'ignored', question_kwd: ['Q1?', 'Q2?'] })).toBe('Q1?\nQ2?');
    expect(ragflowEmbeddingText({ content_with_weight: '<table><tr><td class="a">x</td></tr></table>' })).toBe('   x   ');
    expect(ragflowEmbeddingText({ content_with_weight: '<caption>c</caption><th>h</th>' })).toBe(' c  h ');
    expect(ragflowEmbeddingText({ content_with_weight: ' \n\t' })).toBe('None');
    expect(ragflowEmbeddingText({ content_with_weight: 'plain', question_kwd: [] })).toBe('plain');
  });

  it('mixes v = w*title + (1-w)*content without re-normalising, title embedded once', async () => {
    const o = observed(createHashingBackend({ dim: 32, countTokens: wordCount }));
    const chunks = [{ content_with_weight: 'alpha beta' }, { content_with_weight: '<td>gamma</td>' }, { content_with_weight: '', question_kwd: ['why?'] }];
    const r = await embedChunksLikeRagflow(o.backend, chunks, { title: 'report.pdf', titleWeight: 0.25, batchSize: 2, ...tok });
    expect(r.dim).toBe(32);
    const title = hashingVector('report.pdf', 32);
    expect(Array.from(r.titleVector)).toEqual(Array.from(title));
    const contents = ['alpha beta', ' gamma ', 'why?'].map((t) => hashingVector(t, 32));
    r.vectors.forEach((v, i) => {
      v.forEach((x, j) => expect(x).toBeCloseTo(0.25 * title[j]! + 0.75 * contents[i]![j]!, 6));
    });
    // Mixing two unit vectors and not re-normalising leaves the norm below 1.
    const n = Math.hypot(...r.vectors[0]!);
    expect(n).toBeLessThan(0.999);
    expect(o.calls.filter((c) => c.includes('report.pdf'))).toHaveLength(1);
    expect(r.tokens).toBe(1 + 2 + 1 + 1);
  });

  it('uses weight 0.1 for 0 or unset, falls back to "Title", and skips the title call when a vector is given', async () => {
    const o = observed(createHashingBackend({ dim: 16, countTokens: wordCount }));
    const chunks = [{ content_with_weight: 'hello there' }];
    const r0 = await embedChunksLikeRagflow(o.backend, chunks, { title: '', titleWeight: 0, ...tok });
    const title = hashingVector('Title', 16);
    const content = hashingVector('hello there', 16);
    r0.vectors[0]!.forEach((x, j) => expect(x).toBeCloseTo(0.1 * title[j]! + 0.9 * content[j]!, 6));

    o.calls.length = 0;
    const cached = Float32Array.from({ length: 16 }, (_, i) => (i === 3 ? 1 : 0));
    const r1 = await embedChunksLikeRagflow(o.backend, chunks, { title: 'ignored', titleVector: cached, ...tok });
    expect(o.calls).toEqual([['hello there']]);
    expect(r1.titleVector).toBe(cached);
    expect(r1.vectors[0]![3]).toBeCloseTo(0.1 + 0.9 * content[3]!, 6);
    expect(r1.tokens).toBe(2);
  });

  it('rejects a cached title vector of another dimension', async () => {
    const b = createHashingBackend({ dim: 16, countTokens: wordCount });
    await expect(
      embedChunksLikeRagflow(b, [{ content_with_weight: 'x' }], { title: 't', titleVector: new Float32Array(8), ...tok }),
    ).rejects.toThrow(/8 dims/);
  });
});
