import type { EmbeddingBackend, EmbedResult } from './backend.js';
import { sumTokens } from './tokens.js';

export interface HashingBackendOptions {
  /** vector dimension; default 1024 (RAGFlow's most common q_1024_vec) */
  dim?: number;
  /** model name reported to callers; default 'ragline-hash-<dim>' */
  model?: string;
  /** token counter for the reported token usage; default @ragline/tokenizer's cl100k_base counter */
  countTokens?: (s: string) => number;
  /** reported input limit in tokens; default 8192 (the hashing itself has no limit) */
  maxTokens?: number;
}

/** Whole words carry the meaning; trigrams make near-spellings and inflections overlap a little. */
const WORD_WEIGHT = 1;
const TRIGRAM_WEIGHT = 0.5;

const segmenter = new Intl.Segmenter('und', { granularity: 'word' });

/** FNV-1a over UTF-16 code units, then murmur3's finaliser so low bits (the bucket) avalanche well. */
export function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Lowercased word tokens (Intl.Segmenter, so CJK text segments too) and their boundary-padded trigrams. */
export function hashingFeatures(text: string): Map<string, number> {
  const features = new Map<string, number>();
  const add = (key: string) => features.set(key, (features.get(key) ?? 0) + 1);
  for (const seg of segmenter.segment(text.toLowerCase())) {
    if (!seg.isWordLike) continue;
    const word = seg.segment;
    add(`w\u0000${word}`);
    const padded = Array.from(`\u0002${word}\u0003`);
    for (let i = 0; i + 3 <= padded.length; i++) add(`c\u0000${padded[i]}${padded[i + 1]}${padded[i + 2]}`);
  }
  return features;
}

export function hashingVector(text: string, dim: number): Float32Array {
  const acc = new Float64Array(dim);
  for (const [key, tf] of hashingFeatures(text)) {
    const h = hash32(key);
    const sign = h & 0x80000000 ? -1 : 1;
    const weight = (key.charCodeAt(0) === 0x77 ? WORD_WEIGHT : TRIGRAM_WEIGHT) * (1 + Math.log(tf));
    acc[h % dim] = (acc[h % dim] ?? 0) + sign * weight;
  }
  let norm = 0;
  for (const x of acc) norm += x * x;
  const out = new Float32Array(dim);
  if (norm === 0) {
    // No features (empty or punctuation only): a fixed unit vector keeps cosine maths finite.
    out.fill(1 / Math.sqrt(dim));
    return out;
  }
  const inv = 1 / Math.sqrt(norm);
  for (let i = 0; i < dim; i++) out[i] = (acc[i] ?? 0) * inv;
  return out;
}

/**
 * Deterministic local feature-hashing embedder: no server, no weights. For offline runs and tests,
 * where "similar text -> similar vector" is enough.
 */
export function createHashingBackend(opts: HashingBackendOptions = {}): EmbeddingBackend {
  const dim = opts.dim ?? 1024;
  if (!Number.isInteger(dim) || dim <= 0) throw new RangeError(`hashing backend dim must be a positive integer, got ${dim}`);
  const model = opts.model ?? `ragline-hash-${dim}`;
  const countTokens = opts.countTokens;
  return {
    name: 'hashing',
    model,
    maxTokens: opts.maxTokens ?? 8192,
    dimension: () => Promise.resolve(dim),
    async embed(texts: string[], signal?: AbortSignal): Promise<EmbedResult> {
      signal?.throwIfAborted();
      const vectors = texts.map((t) => hashingVector(t, dim));
      return { vectors, tokens: await sumTokens(texts, countTokens) };
    },
  };
}
