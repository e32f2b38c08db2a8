import { utf8SurrogatePass } from '@ragline/python-repr';
import xxhash from 'xxhash-wasm';
import { HashingNotInitializedError } from './errors.js';

type XXHashAPI = Awaited<ReturnType<typeof xxhash>>;

let api: XXHashAPI | undefined;
let loading: Promise<void> | undefined;

/** Loads the xxHash WebAssembly module; await once before calling `chunkId`. Safe to call again. */
export function initHashing(): Promise<void> {
  loading ??= xxhash().then((loaded) => {
    api = loaded;
  });
  return loading;
}

/**
 * xxh64 (seed 0) of the text's `encode("utf-8", "surrogatepass")` bytes, as 16 lowercase hex
 * digits, so ids match RAGFlow's even for malformed text.
 */
export function xxh64Hex(text: string): string {
  if (!api) throw new HashingNotInitializedError();
  return api.h64Raw(utf8SurrogatePass(text)).toString(16).padStart(16, '0');
}

/** RAGFlow's chunk id: `xxh64((content_with_weight + str(doc_id)).encode("utf-8")).hexdigest()`. */
export function chunkId(content: string, docId: string): string {
  return xxh64Hex(content + docId);
}
