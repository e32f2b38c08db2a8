import { expect, it } from 'vitest';
import { chunkId, HashingNotInitializedError } from '../src/index.js';

// Its own file: vitest isolates modules per file, so hashing is not yet initialised here.
it('chunkId throws a clear error before initHashing()', () => {
  expect(() => chunkId('a', 'b')).toThrow(HashingNotInitializedError);
  expect(() => chunkId('a', 'b')).toThrow(/await initHashing\(\)/);
});
