/**
 * Random access to a file's bytes, so a task reads only what it needs (a PDF: xref, page tree, the
 * pages' content streams and fonts) instead of the whole object.
 */
export interface ByteSource {
  /** total size in bytes */
  readonly size: number;
  /** `length` bytes from `offset` (fewer at the end of the file) */
  read(offset: number, length: number): Promise<Uint8Array>;
}

/** A ByteSource over bytes already in memory. */
export function bytesSource(data: Uint8Array): ByteSource {
  return { size: data.byteLength, read: async (offset, length) => data.subarray(offset, offset + length) };
}
