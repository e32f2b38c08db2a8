import { isJsNotFound, type JetStreamManager } from '@ragline/bus';
import { HEADERS, RAGFLOW, type TopologyNames } from '@ragline/contracts';
import { cancelKey } from '@ragline/redis-queue';
import { Command, type Redis } from 'ioredis';

/** A task reference found in one of RAGFlow's queue streams. */
export interface QueuedRef {
  stream: string;
  entryId: string;
  taskId: string;
  docId: string | null;
  /** unread: not yet delivered to the consumer group; pending: delivered, not acked (in the PEL) */
  state: 'unread' | 'pending';
}

export interface ScanLimits {
  /** most entries / messages read per stream; a stream with more makes the scan incomplete; default 50000 */
  maxPerStream?: number;
}

/** The set of task ids some stage holds, and whether the scan saw everything. */
export interface HeldTasks {
  ids: Set<string>;
  /** false when a stream had more than `maxPerStream` entries: callers must then treat every task as held */
  complete: boolean;
}

// ioredis prefixes keys only for commands whose key position it knows (not XINFO): add our prefix ourselves, for every command alike
function raw(redis: Redis, name: string, args: (string | number)[]): Promise<unknown> {
  const command = new Command(name, args, { replyEncoding: 'utf8' });
  void redis.sendCommand(command);
  return command.promise;
}

function flatMap(flat: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (Array.isArray(flat)) for (let i = 0; i + 1 < flat.length; i += 2) out[String(flat[i])] = flat[i + 1];
  return out;
}

function parseEntry(stream: string, entry: unknown, state: QueuedRef['state']): QueuedRef | null {
  if (!Array.isArray(entry) || !Array.isArray(entry[1])) return null;
  const fields = flatMap(entry[1]);
  try {
    const msg = JSON.parse(String(fields.message)) as { id?: unknown; doc_id?: unknown };
    if (typeof msg.id !== 'string' || !msg.id) return null;
    return { stream, entryId: String(entry[0]), taskId: msg.id, docId: typeof msg.doc_id === 'string' ? msg.doc_id : null, state };
  } catch {
    return null; // malformed entries are the bridge's business; they hold no task
  }
}

/**
 * Task entries in RAGFlow's queue streams that the consumer group has not finished with: unread
 * (after the group's last-delivered id, in stream order) and pending (delivered, not acked).
 */
export async function queuedTasks(
  redis: Redis,
  queues: readonly string[],
  opts: ScanLimits & { group?: string } = {},
): Promise<{ refs: QueuedRef[]; complete: boolean }> {
  const group = opts.group ?? RAGFLOW.consumerGroup;
  const max = opts.maxPerStream ?? 50_000;
  const prefix = redis.options.keyPrefix ?? '';
  const refs: QueuedRef[] = [];
  let complete = true;
  for (const stream of queues) {
    const key = prefix + stream;
    // XINFO on a missing key answers a generic "ERR": ask for the key's type instead of reading error text
    if ((await raw(redis, 'type', [key])) === 'none') continue;
    const groups = await raw(redis, 'xinfo', ['GROUPS', key]);
    const info = (Array.isArray(groups) ? groups : []).map(flatMap).find((g) => g.name === group);
    // RAGFlow creates its group at id 0: without a group every entry is still to be read
    let cursor = info ? String(info['last-delivered-id']) : '0-0';
    let read = 0;
    for (;;) {
      const page = (await raw(redis, 'xrange', [key, `(${cursor}`, '+', 'COUNT', 1000])) as unknown[];
      if (!Array.isArray(page) || page.length === 0) break;
      for (const e of page) {
        const ref = parseEntry(stream, e, 'unread');
        if (ref) refs.push(ref);
      }
      cursor = String((page[page.length - 1] as unknown[])[0]);
      read += page.length;
      if (read >= max) {
        complete = false;
        break;
      }
    }
    if (!info) continue;
    const pending = (await raw(redis, 'xpending', [key, group, '-', '+', max])) as unknown[];
    if (Array.isArray(pending) && pending.length >= max) complete = false;
    const ids = (Array.isArray(pending) ? pending : []).map((p) => String((p as unknown[])[0]));
    for (let i = 0; i < ids.length; i += 200) {
      const replies = await Promise.all(ids.slice(i, i + 200).map((id) => raw(redis, 'xrange', [key, id, id])));
      for (const reply of replies) {
        if (!Array.isArray(reply) || reply.length === 0) continue; // entry deleted or trimmed: holds nothing
        const ref = parseEntry(stream, reply[0], 'pending');
        if (ref) refs.push(ref);
      }
    }
  }
  return { refs, complete };
}

/**
 * Task ids carried (header `Ragline-Task-Id`) by messages stored in the pipeline's work streams.
 * Work-queue retention deletes a message when its stage acks it, and every stage publishes its
 * output before acking its input, so a task being parsed, embedded or indexed, or whose events the
 * monitor has not applied yet, always has at least one message here.
 */
export async function jetStreamTasks(jsm: JetStreamManager, names: TopologyNames, opts: ScanLimits = {}): Promise<HeldTasks> {
  const max = opts.maxPerStream ?? 50_000;
  const ids = new Set<string>();
  let complete = true;
  for (const stream of [names.streams.tasks, names.streams.chunks, names.streams.index, names.streams.events]) {
    const info = await jsm.streams.info(stream);
    if (info.state.messages === 0) continue;
    if (info.state.messages > max) {
      complete = false;
      continue;
    }
    let seq = info.state.first_seq;
    for (let n = 0; n < info.state.messages && seq <= info.state.last_seq; n++) {
      // next_by_subj skips the holes acked messages leave in a work-queue stream (server >= 2.9)
      const m = await jsm.streams
        .getMessage(stream, { seq, next_by_subj: '>' } as unknown as { seq: number })
        .catch((e: unknown) => {
          if (isJsNotFound(e)) return null;
          throw e;
        });
      if (!m) break;
      const taskId = m.header?.get(HEADERS.taskId);
      if (taskId) ids.add(taskId);
      seq = m.seq + 1;
    }
  }
  return { ids, complete };
}

/**
 * "No live work" (docs/architecture.md §1.1 The way in): a task is held when its id is in a RAGFlow queue entry the consumer
 * group has not acked (unread or pending), or in any message stored in a JetStream work stream.
 */
export async function heldTasks(
  deps: { redis: Redis; jsm: JetStreamManager; names: TopologyNames; queues: readonly string[] },
  opts: ScanLimits = {},
): Promise<HeldTasks> {
  const [queued, js] = await Promise.all([queuedTasks(deps.redis, deps.queues, opts), jetStreamTasks(deps.jsm, deps.names, opts)]);
  for (const r of queued.refs) js.ids.add(r.taskId);
  return { ids: js.ids, complete: queued.complete && js.complete };
}

/** RAGFlow stream of a priority: `queues` lists the highest priority first (te.1.common, te.0.common). */
export function queueIndexForPriority(queues: readonly string[], priority: number): number {
  return Math.min(queues.length - 1, Math.max(0, queues.length - 1 - Math.floor(priority)));
}

/**
 * RAGFlow's "N tasks are ahead in the queue..." counted from the queue itself: unread entries of
 * higher-priority streams (the bridge reads them first) plus the entries of the document's own
 * stream that come before its first entry; entries whose task has a cancel flag are not counted
 * (RAGFlow's own count included them, docs/ragflow-compatibility.md §9 Progress sync). One snapshot serves one sync pass.
 */
export async function queueAheadCounter(
  redis: Redis,
  queues: readonly string[],
  opts: ScanLimits & { group?: string } = {},
): Promise<(priority: number, docId: string) => number> {
  const { refs } = await queuedTasks(redis, queues, opts);
  const unread = refs.filter((r) => r.state === 'unread');
  const cancelled = new Set<string>();
  for (let i = 0; i < unread.length; i += 1000) {
    const part = unread.slice(i, i + 1000);
    const flags = await redis.mget(...part.map((r) => cancelKey(r.taskId)));
    part.forEach((r, j) => {
      if (flags[j]) cancelled.add(r.taskId);
    });
  }
  const live = unread.filter((r) => !cancelled.has(r.taskId));
  const byStream = queues.map((q) => live.filter((r) => r.stream === q));
  return (priority, docId) => {
    const idx = queueIndexForPriority(queues, priority);
    let ahead = 0;
    for (let i = 0; i < idx; i++) ahead += byStream[i]!.length;
    for (const r of byStream[idx] ?? []) {
      if (r.docId === docId) break;
      ahead++;
    }
    return ahead;
  };
}
