import { utf8SurrogatePass } from '@ragline/python-repr';
import xxhash from 'xxhash-wasm';

// xxhash-wasm compiles its module asynchronously; once at import keeps the key functions synchronous.
const xxh = await xxhash();

/** xxh64 (seed 0) hex digest of the UTF-8 text, as Python's `xxhash.xxh64(s.encode("utf-8")).hexdigest()`. */
export function xxh64Hex(text: string): string {
  return xxh.h64ToString(text);
}

/** The same over `encode("utf-8", "surrogatepass")`, as RAGFlow's chunk ids. */
export function xxh64HexSurrogatePass(text: string): string {
  return xxh.h64Raw(utf8SurrogatePass(text)).toString(16).padStart(16, '0');
}
