/**
 * Splits items into batches bounded by count and by serialised bytes, so no message exceeds the
 * server's max payload. An item too large on its own goes alone (the publisher then rejects it
 * with a clear error instead of silently truncating).
 */
export function splitBatches<T>(items: T[], maxItems: number, maxBytes: number, size: (item: T) => number): T[][] {
  const out: T[][] = [];
  let cur: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const s = size(item);
    if (cur.length && (cur.length >= maxItems || bytes + s > maxBytes)) {
      out.push(cur);
      cur = [];
      bytes = 0;
    }
    cur.push(item);
    bytes += s;
  }
  if (cur.length) out.push(cur);
  return out;
}

export const jsonBytes = (v: unknown): number => Buffer.byteLength(JSON.stringify(v));
