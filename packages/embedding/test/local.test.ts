import { describe, expect, it } from 'vitest';
import { CircuitBreaker, createEmbeddingBackend, createLocalBackend, embedChunksLikeRagflow, embedTexts, localModelStats, LOCAL_DIM, LOCAL_MODEL } from '../src/index.js';

// The only test file that loads the real model (~0.2 s, ~150 MB); every other suite runs on hashing.

const dot = (a: Float32Array, b: Float32Array): number => a.reduce((s, x, i) => s + x * b[i]!, 0);
const norm = (v: Float32Array): number => Math.sqrt(dot(v, v));
const words = (s: string): Set<string> => new Set(s.toLowerCase().match(/\p{L}+/gu) ?? []);

/** Index of the passage the query's vector is closest to, and all the scores (vectors are unit length). */
async function rank(query: string, passages: string[]) {
  const b = createLocalBackend();
  const { vectors } = await b.embed([query, ...passages]);
  const scores = vectors.slice(1).map((v) => dot(vectors[0]!, v));
  return { best: scores.indexOf(Math.max(...scores)), scores };
}

describe('local backend (Universal Sentence Encoder lite)', () => {
  it('reports its model and 512 dimensions without loading the model', async () => {
    const b = createLocalBackend();
    expect(b.name).toBe('local');
    expect(b.model).toBe(LOCAL_MODEL);
    expect(await b.dimension()).toBe(512);
    expect(localModelStats().loads).toBe(0);
  });

  it('returns one unit-length 512-dim vector per text, in order', async () => {
    const texts = ['The parser splits documents into chunks.', 'Vectors go to the indexer.', 'Ein deutscher Satz.'];
    const { vectors, tokens } = await createLocalBackend().embed(texts);
    expect(vectors).toHaveLength(3);
    for (const v of vectors) {
      expect(v).toBeInstanceOf(Float32Array);
      expect(v.length).toBe(LOCAL_DIM);
      expect(Math.abs(norm(v) - 1)).toBeLessThan(1e-5);
    }
    // distinct texts, distinct vectors, in input order
    const alone = (await createLocalBackend().embed([texts[1]!])).vectors[0]!;
    expect(dot(alone, vectors[1]!)).toBeGreaterThan(0.9999);
    expect(dot(alone, vectors[0]!)).toBeLessThan(0.9);
    // tokens are the model's sentencepiece pieces: more than words, far fewer than characters
    expect(tokens).toBeGreaterThan(texts.join(' ').split(/\s+/).length);
    expect(tokens).toBeLessThan(texts.join(' ').length / 2);
  });

  it('is deterministic: the same text gives the same vector, whatever batch it is in', async () => {
    const b = createLocalBackend();
    const text = 'Each chunk is acknowledged only after it has been indexed.';
    const first = await b.embed([text, 'an unrelated line about the weather']);
    const again = await b.embed([text, 'an unrelated line about the weather']);
    expect(Array.from(again.vectors[0]!)).toEqual(Array.from(first.vectors[0]!));
    const other = await b.embed(['something else entirely', 'and more', text]);
    expect(dot(other.vectors[2]!, first.vectors[0]!)).toBeGreaterThan(0.99999);
  });

  it('ranks by meaning: a consumer-group question is closest to the passage on acknowledging messages', async () => {
    const passages = [
      'Permission is hereby granted, free of charge, to any person obtaining a copy of this software, subject to the licence terms and conditions.',
      'Each consumer in the group acknowledges a message after processing it, so the group does not receive the same message again after a restart.',
      'The office kitchen is cleaned on Fridays; please label your food.',
    ];
    const { best, scores } = await rank('How do I stop a consumer group from rereading messages?', passages);
    expect(best).toBe(1);
    expect(scores[1]! - Math.max(scores[0]!, scores[2]!)).toBeGreaterThan(0.1);
  });

  it('finds a passage that shares no word with the query', async () => {
    const query = 'automobile repair';
    const passages = [
      'The mechanic fixed my car and replaced the brakes.',
      'The library opens at nine and lends books for three weeks.',
      'Interest rates on savings accounts rose again this quarter.',
      'Our recipe needs two eggs, flour and a pinch of salt.',
    ];
    // the premise of the test, checked rather than assumed
    for (const p of passages) expect([...words(query)].filter((w) => words(p).has(w))).toEqual([]);
    const { best, scores } = await rank(query, passages);
    expect(best).toBe(0);
    expect(scores[0]! - Math.max(...scores.slice(1))).toBeGreaterThan(0.1);
  });

  it('cuts a text to maxTokens of the model: texts that differ only after the cut get the same vector', async () => {
    const head = 'Chunks are written to the doc store and the task is reported done once every batch is in.';
    const a = `${head} ${'Apples and pears grow in the orchard behind the farmhouse. '.repeat(20)}`;
    const b = `${head} ${'The licence allows redistribution under the same terms. '.repeat(20)}`;
    const cut = await createLocalBackend({ maxTokens: 12 }).embed([a, b]);
    expect(cut.tokens).toBe(24);
    expect(Array.from(cut.vectors[1]!)).toEqual(Array.from(cut.vectors[0]!));
    const whole = await createLocalBackend().embed([a, b]);
    expect(whole.tokens).toBeGreaterThan(2 * 100);
    expect(dot(whole.vectors[0]!, whole.vectors[1]!)).toBeLessThan(0.95);
    // a very long text is cut to the default 512 pieces (and encoding it stays quick)
    const long = await createLocalBackend().embed(['word '.repeat(50_000)]);
    expect(long.tokens).toBe(512);
  });

  it('gives an empty text a vector, also as the last of a batch', async () => {
    const b = createLocalBackend();
    const { vectors } = await b.embed(['hello world', '']);
    expect(vectors).toHaveLength(2);
    expect(Math.abs(norm(vectors[1]!) - 1)).toBeLessThan(1e-5);
    const none = (await b.embed(['None'])).vectors[0]!;
    expect(dot(vectors[1]!, none)).toBeGreaterThan(0.9999);
  });

  it('splits a call into inferences of batchSize texts with the same vectors', async () => {
    const texts = Array.from({ length: 7 }, (_, i) => `Sentence number ${i} about chunk ${i * 3}.`);
    const before = localModelStats().inferences;
    const small = await createLocalBackend({ batchSize: 3 }).embed(texts);
    expect(localModelStats().inferences - before).toBe(3);
    const whole = await createLocalBackend({ batchSize: 16 }).embed(texts);
    expect(localModelStats().inferences - before).toBe(4);
    small.vectors.forEach((v, i) => expect(dot(v, whole.vectors[i]!)).toBeGreaterThan(0.99999));
  });

  it('loads the model once per process and runs one inference at a time, however many callers', async () => {
    const backends = [createLocalBackend(), createLocalBackend({ batchSize: 2 }), createEmbeddingBackend({ kind: 'local' })];
    const tensorsBefore = localModelStats().tensors;
    const calls = backends.flatMap((b, k) => Array.from({ length: 4 }, (_, i) => b.embed([`caller ${k} call ${i}`, `second text ${k}.${i}`, 'third'])));
    const results = await Promise.all(calls);
    expect(results.every((r) => r.vectors.length === 3)).toBe(true);
    const s = localModelStats();
    expect(s.loads).toBe(1);
    expect(s.maxConcurrent).toBe(1);
    // every input and output tensor released: only the weights stay
    expect(s.tensors).toBe(tensorsBefore);
    expect(s.tensorBytes).toBeGreaterThan(20e6);
    expect(s.tensorBytes).toBeLessThan(40e6);
  });

  it('honours an aborted signal before it runs', async () => {
    const ac = new AbortController();
    ac.abort(new Error('stop'));
    await expect(createLocalBackend().embed(['x'], ac.signal)).rejects.toThrow('stop');
  });

  it('is built by the factory, which refuses another vector size', async () => {
    const b = createEmbeddingBackend({ kind: 'local', maxTokens: 128 });
    expect(b.maxTokens).toBe(128);
    expect(await b.dimension()).toBe(512);
    expect(() => createEmbeddingBackend({ kind: 'local', dimensions: 384 })).toThrow(/512-dim/);
  });

  it("serves RAGFlow's embedding step through a breaker like any backend", async () => {
    const b = createLocalBackend();
    const breaker = new CircuitBreaker({ name: 'local' });
    const guarded = { ...b, embed: (t: string[], s?: AbortSignal) => breaker.run(() => b.embed(t, s), s) };
    const texts = Array.from({ length: 20 }, (_, i) => `Chunk ${i}: the embedder mixes in the title vector with RAGFlow's weight.`);
    const r = await embedChunksLikeRagflow(guarded, texts.map((t) => ({ content_with_weight: t })), { title: 'overview.md', batchSize: 16, concurrency: 4 });
    expect(r.dim).toBe(512);
    expect(r.vectors).toHaveLength(20);
    expect(breaker.state).toBe('closed');
    const plain = await embedTexts(b, [texts[0]!]);
    // v = 0.1·title + 0.9·content
    const expected = plain.vectors[0]!.map((x, i) => 0.9 * x + 0.1 * r.titleVector[i]!);
    expect(dot(expected, r.vectors[0]!) / (norm(expected) * norm(r.vectors[0]!))).toBeGreaterThan(0.99999);
  });
});
