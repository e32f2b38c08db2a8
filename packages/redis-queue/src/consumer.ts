import type { Redis } from 'ioredis';
import { keyPrefixOf, sendRaw } from './connection.js';
import { QueueError, isBusyGroupError, isMissingStreamError, toQueueError } from './errors.js';

export const RAGFLOW_CONSUMER_GROUP = 'rag_flow_svr_task_broker';

export interface QueueEntry {
  /** logical stream name (without the client's key prefix) */
  stream: string;
  id: string;
  fields: Record<string, string>;
  /** the `message` field: RAGFlow's JSON task */
  message?: string;
  traceparent?: string;
  tracestate?: string;
  /** delivery count from the group's PEL (XPENDING) for replayed or claimed entries; 1 for new ones */
  deliveries: number;
  /** the consumer this entry was taken from by XAUTOCLAIM, when known */
  claimedFrom?: string;
}

export interface RagflowQueueConsumerOptions {
  /** streams in priority order, first = highest (e.g. ['te.1.common', 'te.0.common']) */
  streams: string[];
  /** consumer group; default 'rag_flow_svr_task_broker' */
  group?: string;
  /** consumer name; keep it stable across restarts so own pending entries are replayed */
  consumer: string;
  /** entries of other consumers idle longer than this are claimed with XAUTOCLAIM; default 300000 (5 min) */
  claimIdleMs?: number;
  /** after a full XAUTOCLAIM pass found nothing, wait this long before the next pass; default min(claimIdleMs, 30000) */
  claimIntervalMs?: number;
  /** entries per XREADGROUP/XAUTOCLAIM call (the blocking read over all streams may return this many per stream); default 16 */
  batchSize?: number;
  /** BLOCK time of the final read over all streams when every stream is empty; default 2000 */
  blockMs?: number;
}

export interface ConsumerCounters {
  /** new entries read with `>` */
  delivered: number;
  /** own pending entries re-read with id 0 */
  replayed: number;
  /** entries taken from other consumers with XAUTOCLAIM */
  claimed: number;
  /** PEL entries whose stream entry had been deleted (XDEL or trimming): acked and skipped */
  deleted: number;
  /** consumer groups re-created because their stream disappeared */
  groupsRecreated: number;
}

type RawEntry = [id: string, fields: string[] | null];

/**
 * Reads RAGFlow's task streams as a member of its consumer group. One `read()` call is one poll:
 * (1) this consumer's own pending entries (after start and after `replayPending()`), (2) entries of dead
 * consumers idle longer than `claimIdleMs` (XAUTOCLAIM), (3) new entries, high priority first.
 * The first non-empty step answers the poll. Errors keep the consumer's state, so the caller's loop can
 * back off and call `read()` again; a stream deleted while running gets its group re-created.
 */
export class RagflowQueueConsumer {
  readonly streams: readonly string[];
  readonly group: string;
  readonly consumer: string;
  readonly counters: ConsumerCounters = { delivered: 0, replayed: 0, claimed: 0, deleted: 0, groupsRecreated: 0 };

  private readonly claimIdleMs: number;
  private readonly claimIntervalMs: number;
  private readonly batchSize: number;
  private readonly blockMs: number;
  private readonly prefix: string;
  private readonly keyToStream = new Map<string, string>();
  /** a second connection for BLOCK reads, so acks and other commands on `redis` are not held up behind them */
  private readonly blocking: Redis;
  /** streams whose own pending entries are still to be replayed, with the last id seen */
  private replay: Map<string, string> | null;
  private readonly claimCursor = new Map<string, string>();
  private readonly nextClaimPassAt = new Map<string, number>();
  /** entries handed to the caller and not acked yet: never "claimed" back from ourselves */
  private readonly inFlight = new Set<string>();
  private groupsReady = false;
  private closed = false;

  constructor(
    private readonly redis: Redis,
    opts: RagflowQueueConsumerOptions,
  ) {
    if (opts.streams.length === 0) throw new TypeError('RagflowQueueConsumer needs at least one stream');
    if (!opts.consumer) throw new TypeError('RagflowQueueConsumer needs a consumer name');
    this.streams = [...opts.streams];
    this.group = opts.group ?? RAGFLOW_CONSUMER_GROUP;
    this.consumer = opts.consumer;
    this.claimIdleMs = opts.claimIdleMs ?? 300_000;
    this.claimIntervalMs = opts.claimIntervalMs ?? Math.min(this.claimIdleMs, 30_000);
    this.batchSize = opts.batchSize ?? 16;
    this.blockMs = opts.blockMs ?? 2000;
    this.prefix = keyPrefixOf(redis);
    for (const stream of this.streams) this.keyToStream.set(this.key(stream), stream);
    this.replay = this.freshReplay();
    this.blocking = redis.duplicate({ lazyConnect: true });
    // errors surface on the commands themselves; this only keeps ioredis from printing them
    this.blocking.on('error', () => {});
  }

  /** XGROUP CREATE <stream> <group> 0 MKSTREAM for every stream; an existing group is fine. */
  async ensureGroups(): Promise<void> {
    for (const stream of this.streams) await this.createGroup(stream);
    this.groupsReady = true;
  }

  /** Re-read this consumer's own pending entries (id 0) on the next polls, as after a restart. */
  replayPending(): void {
    this.replay = this.freshReplay();
  }

  /** One poll; returns at most `batchSize` entries, or [] after blocking `blockMs` with nothing new. */
  async read(): Promise<QueueEntry[]> {
    if (this.closed) return [];
    if (!this.groupsReady) await this.ensureGroups();
    const own = await this.readOwnPending();
    if (own.length > 0) return this.handOut(own);
    const claimed = await this.claimIdle();
    if (claimed.length > 0) return this.handOut(claimed);
    for (const stream of this.streams) {
      const fresh = await this.readNew([stream], false);
      if (fresh.length > 0) return this.handOut(fresh);
    }
    return this.handOut(await this.readNew(this.streams, true));
  }

  /** XACK: the entry leaves the group's pending list. */
  async ack(entry: Pick<QueueEntry, 'stream' | 'id'>): Promise<void> {
    try {
      await sendRaw(this.redis, 'xack', [this.key(entry.stream), this.group, entry.id]);
      this.inFlight.delete(inFlightKey(entry.stream, entry.id));
    } catch (err) {
      throw toQueueError(err, `XACK ${entry.stream} ${entry.id}`);
    }
  }

  /** Stops polling; a blocked read returns []. Does not close the caller's `redis`. */
  close(): void {
    this.closed = true;
    this.blocking.disconnect();
  }

  private freshReplay(): Map<string, string> {
    return new Map(this.streams.map((s) => [s, '0']));
  }

  private key(stream: string): string {
    return this.prefix + stream;
  }

  private handOut(entries: QueueEntry[]): QueueEntry[] {
    for (const e of entries) this.inFlight.add(inFlightKey(e.stream, e.id));
    return entries;
  }

  private async createGroup(stream: string): Promise<void> {
    try {
      await sendRaw(this.redis, 'xgroup', ['CREATE', this.key(stream), this.group, '0', 'MKSTREAM']);
    } catch (err) {
      if (isBusyGroupError(err)) return;
      throw toQueueError(err, `XGROUP CREATE ${stream} ${this.group}`);
    }
  }

  private async recreateGroup(stream: string): Promise<void> {
    await this.createGroup(stream);
    this.counters.groupsRecreated += 1;
    this.claimCursor.delete(stream);
  }

  /** Step 1: XREADGROUP ... STREAMS <s> <last id>, starting at 0, stream by stream in priority order. */
  private async readOwnPending(): Promise<QueueEntry[]> {
    const replay = this.replay;
    if (!replay) return [];
    for (const [stream, lastId] of replay) {
      let from = lastId;
      for (;;) {
        let page: RawEntry[];
        try {
          page = entriesOf(
            await sendRaw(this.redis, 'xreadgroup', [
              'GROUP', this.group, this.consumer, 'COUNT', this.batchSize, 'STREAMS', this.key(stream), from,
            ]),
          );
        } catch (err) {
          if (!isMissingStreamError(err)) throw toQueueError(err, `replaying pending entries of ${stream}`);
          // the stream was deleted: nothing of ours is pending there any more
          await this.recreateGroup(stream);
          page = [];
        }
        if (page.length === 0) {
          replay.delete(stream);
          break;
        }
        from = page[page.length - 1]![0];
        replay.set(stream, from);
        const live = await this.dropDeleted(stream, page);
        if (live.length === 0) continue;
        const deliveries = await this.deliveryCounts(stream, live[0]![0], from);
        this.counters.replayed += live.length;
        return live.map(([id, fields]) => toEntry(stream, id, fields!, deliveries.get(id)?.deliveries ?? 1));
      }
    }
    this.replay = null;
    return [];
  }

  /** Step 2: entries idle longer than claimIdleMs, found with XPENDING IDLE and taken with XAUTOCLAIM. */
  private async claimIdle(): Promise<QueueEntry[]> {
    const now = Date.now();
    for (const stream of this.streams) {
      if ((this.nextClaimPassAt.get(stream) ?? 0) > now) continue;
      const cursor = this.claimCursor.get(stream) ?? '0-0';
      const key = this.key(stream);
      try {
        // who held what, so claimed entries can say where they came from (and a quiet PEL costs one command)
        const candidates = pendingOf(
          await sendRaw(this.redis, 'xpending', [key, this.group, 'IDLE', this.claimIdleMs, cursor, '+', this.batchSize]),
        );
        if (candidates.length === 0) {
          this.claimCursor.set(stream, '0-0');
          this.nextClaimPassAt.set(stream, now + this.claimIntervalMs);
          continue;
        }
        const reply = await sendRaw(this.redis, 'xautoclaim', [
          key, this.group, this.consumer, this.claimIdleMs, candidates[0]!.id, 'COUNT', this.batchSize,
        ]);
        const [next, claimedRaw, deletedIds] = autoclaimOf(reply);
        this.claimCursor.set(stream, next);
        if (deletedIds.length > 0) this.counters.deleted += deletedIds.length;
        // Redis 6.2 returns deleted entries as nil in the claimed list (and keeps them pending)
        const claimed = await this.dropDeleted(stream, claimedRaw);
        const previous = new Map(candidates.map((c) => [c.id, c]));
        const out: QueueEntry[] = [];
        for (const [id, fields] of claimed) {
          if (this.inFlight.has(inFlightKey(stream, id))) continue; // ours and still being worked on
          const before = previous.get(id);
          const entry = toEntry(stream, id, fields!, before ? before.deliveries + 1 : 1);
          if (before && before.consumer !== this.consumer) entry.claimedFrom = before.consumer;
          out.push(entry);
        }
        if (next === '0-0') this.nextClaimPassAt.set(stream, now + this.claimIntervalMs);
        if (out.length > 0) {
          this.counters.claimed += out.length;
          return out;
        }
      } catch (err) {
        if (!isMissingStreamError(err)) throw toQueueError(err, `claiming idle entries of ${stream}`);
        await this.recreateGroup(stream);
      }
    }
    return [];
  }

  /** Step 3: new entries (`>`); non-blocking per stream, or one blocking read over all of them. */
  private async readNew(streams: readonly string[], block: boolean): Promise<QueueEntry[]> {
    const args: (string | number)[] = ['GROUP', this.group, this.consumer, 'COUNT', this.batchSize];
    if (block) args.push('BLOCK', this.blockMs);
    args.push('STREAMS', ...streams.map((s) => this.key(s)), ...streams.map(() => '>'));
    let reply: unknown;
    try {
      reply = await sendRaw(block ? this.blocking : this.redis, 'xreadgroup', args);
    } catch (err) {
      if (this.closed) return [];
      if (!isMissingStreamError(err)) throw toQueueError(err, `reading new entries of ${streams.join(', ')}`);
      // a stream vanished (DEL / FLUSHDB): recreate what is missing and let the next poll read
      for (const stream of streams) await this.recreateGroupIfMissing(stream);
      return [];
    }
    const byStream = streamsOf(reply);
    const out: QueueEntry[] = [];
    for (const stream of streams) {
      for (const [id, fields] of byStream.get(this.key(stream)) ?? []) {
        if (fields) out.push(toEntry(stream, id, fields, 1));
      }
    }
    this.counters.delivered += out.length;
    return out;
  }

  private async recreateGroupIfMissing(stream: string): Promise<void> {
    try {
      // XINFO on a missing key answers only the generic ERR code: look at the key's type first
      if ((await sendRaw(this.redis, 'type', [this.key(stream)])) === 'stream') {
        const groups = await sendRaw(this.redis, 'xinfo', ['GROUPS', this.key(stream)]);
        if (Array.isArray(groups) && groups.some((g) => Array.isArray(g) && g[1] === this.group)) return;
      }
    } catch (err) {
      throw toQueueError(err, `XINFO GROUPS ${stream}`);
    }
    await this.recreateGroup(stream);
  }

  /** PEL entries whose stream entry is gone come back with nil fields: ack them so they stop coming back. */
  private async dropDeleted(stream: string, page: RawEntry[]): Promise<RawEntry[]> {
    const gone = page.filter(([, fields]) => fields === null).map(([id]) => id);
    if (gone.length === 0) return page;
    await sendRaw(this.redis, 'xack', [this.key(stream), this.group, ...gone]);
    this.counters.deleted += gone.length;
    return page.filter(([, fields]) => fields !== null);
  }

  private async deliveryCounts(stream: string, first: string, last: string): Promise<Map<string, PendingInfo>> {
    const rows = pendingOf(
      await sendRaw(this.redis, 'xpending', [this.key(stream), this.group, first, last, this.batchSize, this.consumer]),
    );
    return new Map(rows.map((r) => [r.id, r]));
  }
}

interface PendingInfo {
  id: string;
  consumer: string;
  idleMs: number;
  deliveries: number;
}

function inFlightKey(stream: string, id: string): string {
  return `${stream}\u0000${id}`;
}

function toEntry(stream: string, id: string, flat: string[], deliveries: number): QueueEntry {
  const fields: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) fields[flat[i]!] = flat[i + 1]!;
  const entry: QueueEntry = { stream, id, fields, deliveries };
  if (fields.message !== undefined) entry.message = fields.message;
  if (fields.traceparent !== undefined) entry.traceparent = fields.traceparent;
  if (fields.tracestate !== undefined) entry.tracestate = fields.tracestate;
  return entry;
}

function entriesOf(reply: unknown): RawEntry[] {
  const byStream = streamsOf(reply);
  return [...byStream.values()].flat();
}

function rawEntries(list: unknown): RawEntry[] {
  if (!Array.isArray(list)) return [];
  return list.map((e) => {
    if (!Array.isArray(e)) throw new QueueError(`unexpected stream entry reply: ${JSON.stringify(e)}`, false);
    return [String(e[0]), Array.isArray(e[1]) ? e[1].map(String) : null];
  });
}

/** XREADGROUP reply: [[key, [[id, [f, v, ...] | nil], ...]], ...] or nil. */
function streamsOf(reply: unknown): Map<string, RawEntry[]> {
  const out = new Map<string, RawEntry[]>();
  if (!Array.isArray(reply)) return out;
  for (const item of reply) {
    if (Array.isArray(item)) out.set(String(item[0]), rawEntries(item[1]));
  }
  return out;
}

/** XAUTOCLAIM reply: [next cursor, entries, deleted ids (Redis >= 7)]. */
function autoclaimOf(reply: unknown): [string, RawEntry[], string[]] {
  if (!Array.isArray(reply)) throw new QueueError(`unexpected XAUTOCLAIM reply: ${JSON.stringify(reply)}`, false);
  const deleted = Array.isArray(reply[2]) ? reply[2].map(String) : [];
  return [String(reply[0]), rawEntries(reply[1]), deleted];
}

/** XPENDING extended reply: [[id, consumer, idle ms, deliveries], ...]. */
function pendingOf(reply: unknown): PendingInfo[] {
  if (!Array.isArray(reply)) return [];
  return reply
    .filter((r): r is unknown[] => Array.isArray(r))
    .map((r) => ({ id: String(r[0]), consumer: String(r[1]), idleMs: Number(r[2]), deliveries: Number(r[3]) }));
}
