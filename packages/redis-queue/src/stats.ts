import type { Redis } from 'ioredis';
import { keyPrefixOf, sendRaw } from './connection.js';
import { toQueueError } from './errors.js';

export interface QueueStats {
  /** XLEN: entries in the stream (acked ones included until trimmed) */
  length: number;
  /** entries delivered to the group and not acked yet */
  pending: number;
  /** entries not yet delivered to the group; null when Redis cannot tell (after XDEL/trimming) or the group is missing */
  lag: number | null;
  consumers: { name: string; pending: number; idleMs: number }[];
}

/** Stream and group counters from XLEN, XINFO GROUPS and XINFO CONSUMERS; a missing stream gives zeros. */
export async function queueStats(redis: Redis, stream: string, group: string): Promise<QueueStats> {
  const key = keyPrefixOf(redis) + stream;
  try {
    const length = Number(await sendRaw(redis, 'xlen', [key]));
    // XINFO on a missing key answers only the generic ERR code: look at the key's type first
    if ((await sendRaw(redis, 'type', [key])) === 'none') return { length: 0, pending: 0, lag: 0, consumers: [] };
    const groups = listOfMaps(await sendRaw(redis, 'xinfo', ['GROUPS', key]));
    const info = groups.find((g) => g.name === group);
    if (!info) return { length, pending: 0, lag: null, consumers: [] };
    const consumers = listOfMaps(await sendRaw(redis, 'xinfo', ['CONSUMERS', key, group])).map((c) => ({
      name: String(c.name),
      pending: Number(c.pending ?? 0),
      idleMs: Number(c.idle ?? 0),
    }));
    const lag = info.lag === undefined || info.lag === null ? null : Number(info.lag);
    return { length, pending: Number(info.pending ?? 0), lag, consumers };
  } catch (err) {
    throw toQueueError(err, `queue stats of ${stream}`);
  }
}

/** XINFO replies are lists of flat [field, value, ...] arrays. */
function listOfMaps(reply: unknown): Record<string, unknown>[] {
  if (!Array.isArray(reply)) return [];
  return reply.filter(Array.isArray).map((flat: unknown[]) => {
    const map: Record<string, unknown> = {};
    for (let i = 0; i + 1 < flat.length; i += 2) map[String(flat[i])] = flat[i + 1];
    return map;
  });
}
