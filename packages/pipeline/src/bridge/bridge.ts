import { setTimeout as sleep } from 'node:timers/promises';
import { errorInfo, faultPoint, type Publisher } from '@ragline/bus';
import { ContractError, RagflowQueueMessage, TaskMessage, decode, msgIds, type TaskContext, type TopologyNames } from '@ragline/contracts';
import { ROOT_CONTEXT, SpanKind, extractTraceContext, recordError, taskAttributes, trace, type Logger, type Tracer } from '@ragline/telemetry';
import type { QueueEntry } from '@ragline/redis-queue';
import type { ReceiveResult, TaskDb } from '@ragline/taskdb';

export interface BridgeQueue {
  read(): Promise<QueueEntry[]>;
  ack(entry: QueueEntry): Promise<void>;
  /** re-read this consumer's own pending entries on the next read (after a failed hand-off) */
  replayPending?(): void;
}

export interface BridgeDeps {
  queue: BridgeQueue;
  taskdb: Pick<TaskDb, 'receiveTask' | 'applyProgress'>;
  publisher: Publisher;
  names: TopologyNames;
  isCancelled: (taskId: string) => Promise<boolean>;
  logger: Logger;
  tracer: Tracer;
  /** task types Ragline runs; default [''] (standard chunking) */
  supportedTaskTypes?: string[];
  /** hand other task types to a RAGFlow executor through this stream instead of failing them */
  forward?: {
    stream: string;
    enqueue: (stream: string, message: Record<string, unknown>, trace?: { traceparent?: string; tracestate?: string }) => Promise<string>;
  };
}

export interface BridgeStats {
  received: number;
  published: number;
  malformed: number;
  unknown: number;
  cancelled: number;
  duplicates: number;
  abandoned: number;
  unsupported: number;
  forwarded: number;
  errors: number;
}

type Outcome = keyof BridgeStats;

const CANCELLED_MSG = 'Task has been cancelled. [Canceled]';

/** A task type is shown at most this long in messages and logs (the queue entry may hold anything). */
const SHOWN_TYPE_CHARS = 64;

function shownType(taskType: string): string {
  if (taskType.length <= SHOWN_TYPE_CHARS) return `"${taskType}"`;
  return `"${taskType.slice(0, SHOWN_TYPE_CHARS)}..." (${taskType.length.toLocaleString('en-US')} characters)`;
}

function toContext(row: Extract<ReceiveResult, { status: 'ok' }>['task']): TaskContext {
  return {
    task_id: row.task_id,
    doc_id: row.doc_id,
    kb_id: row.kb_id,
    tenant_id: row.tenant_id,
    task_type: row.task_type ?? '',
    from_page: row.from_page,
    to_page: row.to_page,
    priority: row.priority ?? 0,
    retry_count: row.retry_count,
    parser_id: row.parser_id,
    parser_config: row.parser_config ?? {},
    doc_name: row.doc_name,
    doc_type: row.doc_type,
    // receiveTask resolves RAGFlow's get_storage_address (file-manager uploads live in their folder's bucket)
    bucket: row.bucket || row.kb_id,
    location: row.location || row.doc_name,
    size: Number(row.size ?? 0),
    language: row.language ?? 'English',
    embd_id: row.embd_id ?? '',
    pagerank: Number(row.pagerank ?? 0),
    received_at: Date.now(),
    // what the enricher needs from the join: the tenant's chat model, and the knowledge base's own
    // parser_config (tag_kb_ids, topn_tags), as RAGFlow's get_task returns them
    llm_id: row.llm_id ?? '',
    kb_parser_config: row.kb_parser_config ?? {},
  };
}

/**
 * RAGFlow queue -> JetStream hand-off (docs/contracts.md §7 Delivery guarantees). An entry is acked in Redis only after
 * JetStream acknowledged the publish (or when it must be dropped); a crash in between republishes
 * and JetStream's dedupe (Nats-Msg-Id `task.<task_id>`) drops the copy.
 */
export function createBridge(deps: BridgeDeps) {
  const supported = new Set(deps.supportedTaskTypes ?? ['']);
  const stats: BridgeStats = {
    received: 0,
    published: 0,
    malformed: 0,
    unknown: 0,
    cancelled: 0,
    duplicates: 0,
    abandoned: 0,
    unsupported: 0,
    forwarded: 0,
    errors: 0,
  };
  const log = deps.logger.child({ stage: 'bridge' });
  /** entries received from MySQL whose publish has not succeeded yet (bounded: oldest dropped first) */
  const receivedEntries = new Map<string, TaskContext>();

  async function handOff(entry: QueueEntry): Promise<Outcome> {
    let message: RagflowQueueMessage;
    try {
      if (entry.message === undefined) throw new ContractError('RagflowQueueMessage', 'entry has no "message" field');
      message = decode(RagflowQueueMessage, entry.message, 'queue entry');
    } catch (e) {
      log.warn({ stream: entry.stream, entry_id: entry.id, err: errorInfo(e) }, 'malformed queue entry dropped');
      return 'malformed';
    }
    const taskId = message.id;
    const taskType = message.task_type ?? '';
    if (!supported.has(taskType)) {
      if (deps.forward) {
        await deps.forward.enqueue(deps.forward.stream, message, { traceparent: entry.traceparent, tracestate: entry.tracestate });
        log.info({ task_id: taskId, task_type: taskType, to: deps.forward.stream }, 'forwarded task type Ragline does not run');
        return 'forwarded';
      }
      await deps.taskdb.applyProgress([
        { taskId, progress: -1, msg: `Ragline does not run task type ${shownType(taskType)}; only standard chunking tasks are supported.` },
      ]);
      log.warn({ task_id: taskId, task_type: taskType.slice(0, SHOWN_TYPE_CHARS) }, 'unsupported task type failed');
      return 'unsupported';
    }
    if (await deps.isCancelled(taskId)) {
      await deps.taskdb.applyProgress([{ taskId, progress: -1, msg: CANCELLED_MSG }]);
      log.info({ task_id: taskId }, 'collect task has been cancelled');
      return 'cancelled';
    }
    // A hand-off that failed after the task was received is retried without receiving it again:
    // our own outage (NATS down) must not use up RAGFlow's three attempts.
    const retried = receivedEntries.get(entry.id);
    const task = retried ?? (await receive(taskId));
    if (typeof task === 'string') return task;
    receivedEntries.set(entry.id, task);
    faultPoint('bridge.received');
    if (receivedEntries.size > 10_000) receivedEntries.delete(receivedEntries.keys().next().value!);
    trace.getActiveSpan()?.setAttributes(taskAttributes(task));
    const ack = await deps.publisher.publish(
      deps.names.subjects.tasks,
      TaskMessage,
      { v: 1, kind: 'task', task, source: { stream: entry.stream, entry_id: entry.id } },
      { msgID: msgIds.task(task.task_id, entry), taskId: task.task_id, docId: task.doc_id },
    );
    receivedEntries.delete(entry.id);
    if (ack.duplicate) {
      log.info({ task_id: task.task_id }, 'task already in JetStream: duplicate dropped by dedupe');
      return 'duplicates';
    }
    log.info({ task_id: task.task_id, doc_id: task.doc_id, retry: task.retry_count }, 'task handed to JetStream');
    return 'published';
  }

  async function receive(taskId: string): Promise<TaskContext | Outcome> {
    const received = await deps.taskdb.receiveTask(taskId);
    switch (received.status) {
      case 'unknown':
        log.warn({ task_id: taskId, orphan: received.orphan }, 'collect task is unknown');
        if (received.orphan) {
          // the task row is still there: say why it will never run instead of leaving it queued
          const what = { document: 'document', knowledgebase: 'knowledge base', tenant: 'tenant' }[received.orphan.missing];
          await deps.taskdb.applyProgress([{ taskId, progress: -1, msg: `Task dropped: its ${what} ${received.orphan.id} no longer exists.` }]);
        }
        return 'unknown';
      case 'done':
        log.info({ task_id: taskId }, 'task already done: duplicate delivery dropped');
        return 'duplicates';
      case 'cancelled':
        await deps.taskdb.applyProgress([{ taskId, msg: CANCELLED_MSG }]);
        log.info({ task_id: taskId }, 'document cancelled: task dropped');
        return 'cancelled';
      case 'abandoned':
        log.warn({ task_id: taskId }, 'task abandoned after 3 attempts');
        return 'abandoned';
      case 'failed':
        log.info({ task_id: taskId }, 'task already failed: delivery dropped');
        return 'duplicates';
      case 'ok':
        return toContext(received.task);
    }
  }

  async function processEntry(entry: QueueEntry): Promise<Outcome> {
    stats.received++;
    const parent = extractTraceContext(
      (k) => (k === 'traceparent' ? entry.traceparent : k === 'tracestate' ? entry.tracestate : undefined),
      ROOT_CONTEXT,
    );
    return deps.tracer.startActiveSpan(
      `process ${entry.stream}`,
      {
        kind: SpanKind.CONSUMER,
        attributes: {
          'messaging.system': 'redis',
          'messaging.operation.name': 'process',
          'messaging.operation.type': 'process',
          'messaging.destination.name': entry.stream,
          'messaging.consumer.group.name': 'rag_flow_svr_task_broker',
          'messaging.message.id': entry.id,
        },
      },
      parent,
      async (span) => {
        try {
          const outcome = await handOff(entry);
          await deps.queue.ack(entry);
          stats[outcome]++;
          span.setAttribute('ragline.bridge.outcome', outcome);
          return outcome;
        } catch (e) {
          // not acked: the entry stays pending and is re-read, so nothing accepted is lost
          stats.errors++;
          recordError(span, e);
          log.error({ stream: entry.stream, entry_id: entry.id, err: errorInfo(e) }, 'hand-off failed; entry stays pending');
          deps.queue.replayPending?.();
          return 'errors';
        } finally {
          span.end();
        }
      },
    );
  }

  async function pollOnce(): Promise<number> {
    const entries = await deps.queue.read();
    for (const e of entries) await processEntry(e);
    return entries.length;
  }

  /** Polls until `signal` aborts; transient failures back off instead of spinning. */
  async function run(signal: AbortSignal): Promise<void> {
    let backoff = 500;
    while (!signal.aborted) {
      try {
        const errorsBefore = stats.errors;
        await pollOnce();
        if (stats.errors === errorsBefore) {
          backoff = 500;
          continue;
        }
        // A failed hand-off is replayed on the next poll, and every delivery counts toward the task's
        // 3 attempts: retrying at once would abandon it within milliseconds of a JetStream outage.
      } catch (e) {
        log.error({ err: errorInfo(e) }, 'queue read failed');
      }
      await sleep(backoff, undefined, { signal }).catch(() => undefined);
      backoff = Math.min(backoff * 2, 10_000);
    }
  }

  return { processEntry, pollOnce, run, stats };
}
