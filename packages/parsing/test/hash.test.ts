import { beforeAll, describe, expect, it } from 'vitest';
import { chunkId, initHashing, utf8SurrogatePass, xxh64Hex } from '../src/index.js';

describe('xxh64 chunk ids', () => {
  beforeAll(async () => {
    await initHashing();
  });

  it('matches published XXH64 digests (seed 0)', () => {
    // xxh64("") from the xxHash spec test vectors; xxh64("abc") as documented for Fastly's
    // digest.hash_xxh64 and python-xxhash's README.
    expect(xxh64Hex('')).toBe('ef46db3751d8e999');
    expect(xxh64Hex('abc')).toBe('44bc2cf5ad770999');
    expect(xxh64Hex('xxhash')).toBe('32dd38952c4bc720');
  });

  it('hashes content followed by the doc id', () => {
    expect(chunkId('ab', 'c')).toBe('44bc2cf5ad770999');
    expect(chunkId('', '')).toBe('ef46db3751d8e999');
    expect(chunkId('hello', 'doc1')).toMatch(/^[0-9a-f]{16}$/);
    expect(chunkId('hello', 'doc1')).not.toBe(chunkId('hello', 'doc2'));
  });

  it('zero-pads digests to 16 hex digits', () => {
    // Find an input whose digest has a leading zero nibble (1 in 16 do).
    let found: string | undefined;
    for (let i = 0; i < 500 && !found; i++) {
      const id = chunkId(`chunk ${i}`, 'doc');
      if (id.startsWith('0')) found = id;
    }
    expect(found).toMatch(/^0[0-9a-f]{15}$/);
  });

  it('encodes lone surrogates like Python surrogatepass', () => {
    expect([...utf8SurrogatePass('\uD800')]).toEqual([0xed, 0xa0, 0x80]);
    expect([...utf8SurrogatePass('é😀')]).toEqual([0xc3, 0xa9, 0xf0, 0x9f, 0x98, 0x80]);
    expect(utf8SurrogatePass('中文 abc')).toEqual(new TextEncoder().encode('中文 abc'));
  });
});
