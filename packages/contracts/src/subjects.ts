/**
 * Every JetStream subject, stream and durable consumer name Ragline uses.
 * A prefix lets several environments share one NATS server.
 */
export interface TopologyNames {
  readonly subjectPrefix: string;
  readonly streamPrefix: string;
  readonly subjects: {
    /** bridge -> parser: one message per parse task */
    readonly tasks: string;
    /** parser -> enricher: chunk batches, with what LLM work the task asks for */
    readonly enrich: string;
    /** enricher -> embedder: chunk batches (enriched, or passed through untouched) */
    readonly chunks: string;
    /** embedder -> indexer: embedded chunk batches */
    readonly embedded: string;
    /** parser -> indexer: parent records of children_delimiter children (never embedded) */
    readonly parents: string;
    /** parser -> indexer: how many batches a task produced */
    readonly manifest: string;
    /** enricher or embedder -> indexer: the task was cancelled, its batches are being dropped */
    readonly cancelled: string;
    /** everything the indexer consumes */
    readonly indexAll: string;
    /** stage events -> monitor */
    readonly progress: string;
    readonly batchIndexed: string;
    readonly completed: string;
    readonly eventsAll: string;
    /** dead letters, one subject per stage */
    readonly dlq: (stage: Stage) => string;
    readonly dlqAll: string;
  };
  readonly streams: {
    readonly tasks: string;
    /** both chunk hops (enrich and embed): one work-queue stream, one consumer per subject */
    readonly chunks: string;
    readonly index: string;
    readonly events: string;
    readonly dlq: string;
  };
  readonly consumers: {
    readonly parser: string;
    readonly enricher: string;
    readonly embedder: string;
    readonly indexer: string;
    readonly monitorEvents: string;
    readonly monitorDlq: string;
  };
  /** NATS KV bucket holding per-task completion state */
  readonly taskStateBucket: string;
}

export const STAGES = ['bridge', 'parser', 'enricher', 'embedder', 'indexer', 'monitor'] as const;
export type Stage = (typeof STAGES)[number];

const SUBJECT_TOKEN = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;
const STREAM_NAME = /^[A-Za-z0-9_-]+$/;

export function topologyNames(subjectPrefix = 'ragline', streamPrefix = 'RAGLINE'): TopologyNames {
  if (!SUBJECT_TOKEN.test(subjectPrefix)) throw new Error(`invalid subject prefix "${subjectPrefix}"`);
  if (!STREAM_NAME.test(streamPrefix)) throw new Error(`invalid stream prefix "${streamPrefix}"`);
  const p = subjectPrefix;
  const s = streamPrefix;
  return {
    subjectPrefix,
    streamPrefix,
    subjects: {
      tasks: `${p}.tasks.parse`,
      enrich: `${p}.chunks.enrich`,
      chunks: `${p}.chunks.embed`,
      embedded: `${p}.index.embedded`,
      parents: `${p}.index.parents`,
      manifest: `${p}.index.manifest`,
      cancelled: `${p}.index.cancelled`,
      indexAll: `${p}.index.>`,
      progress: `${p}.events.progress`,
      batchIndexed: `${p}.events.batch_indexed`,
      completed: `${p}.events.completed`,
      eventsAll: `${p}.events.>`,
      dlq: (stage: Stage) => `${p}.dlq.${stage}`,
      dlqAll: `${p}.dlq.>`,
    },
    streams: {
      tasks: `${s}_TASKS`,
      chunks: `${s}_CHUNKS`,
      index: `${s}_INDEX`,
      events: `${s}_EVENTS`,
      dlq: `${s}_DLQ`,
    },
    consumers: {
      parser: 'parser',
      enricher: 'enricher',
      embedder: 'embedder',
      indexer: 'indexer',
      monitorEvents: 'monitor-events',
      monitorDlq: 'monitor-dlq',
    },
    taskStateBucket: `${s.toLowerCase()}_task_state`,
  };
}

/** What identifies one attempt of a task: every TaskRef carries both. */
export interface AttemptRef {
  readonly task_id: string;
  /** set by the bridge on each hand-off, so it differs between attempts and is fixed within one */
  readonly received_at: number;
}

const attempt = (task: AttemptRef): string => `${task.task_id}.${task.received_at}`;

/** Deterministic JetStream message ids (Nats-Msg-Id) so a republish of the same attempt inside the dedupe window is dropped. */
export const msgIds = {
  /**
   * One per queue entry, not per task: a crash between publish and XACK re-reads the same entry
   * (same id, deduped), while a task re-enqueued on purpose (recover, stuck-task retry, re-run)
   * is a new entry and must not be dropped as a duplicate of its earlier attempt (RAGFlow #18942).
   */
  task: (taskId: string, entry: { stream: string; id: string }) => `task.${taskId}.${entry.stream}.${entry.id}`,
  /**
   * parser -> enricher. Not the embed hop's id: both hops share the chunks stream and its dedupe
   * window, so the enricher's republish under the same id would be dropped as a duplicate.
   * Every id below carries the attempt (the bridge stamps a new `received_at` on each hand-off):
   * a retry's batches must not be dropped as duplicates of the earlier attempt's (RAGFlow #18942),
   * while a redelivery within one attempt keeps its id and still dedupes.
   */
  enrichBatch: (task: AttemptRef, batchNo: number) => `enrich.${attempt(task)}.${batchNo}`,
  /** enricher -> embedder */
  chunkBatch: (task: AttemptRef, batchNo: number) => `chunks.${attempt(task)}.${batchNo}`,
  embeddedBatch: (task: AttemptRef, batchNo: number) => `embedded.${attempt(task)}.${batchNo}`,
  /** parser -> indexer, numbered after the task's chunk batches */
  parentBatch: (task: AttemptRef, batchNo: number) => `parents.${attempt(task)}.${batchNo}`,
  manifest: (task: AttemptRef) => `manifest.${attempt(task)}`,
  /** one per attempt: the first dropped batch's notice goes through, the rest are duplicates */
  cancelled: (task: AttemptRef) => `cancelled.${attempt(task)}`,
  batchIndexed: (task: AttemptRef, batchNo: number) => `indexed.${attempt(task)}.${batchNo}`,
  completed: (task: AttemptRef) => `completed.${attempt(task)}`,
};

/** Header names carried on every JetStream message besides W3C trace context. */
export const HEADERS = {
  taskId: 'Ragline-Task-Id',
  docId: 'Ragline-Doc-Id',
  contractVersion: 'Ragline-Contract-Version',
  traceparent: 'traceparent',
  tracestate: 'tracestate',
} as const;

/** RAGFlow's Redis side: stream names, consumer group and keys (docs/ragflow-compatibility.md §4 Redis queue message, §7 Cancellation, §15 Worker heartbeats and registry). */
export const RAGFLOW = {
  consumerGroup: 'rag_flow_svr_task_broker',
  /** v0.26+ names, high priority first */
  queuesCurrent: ['te.1.common', 'te.0.common'] as readonly string[],
  /** up to v0.25 */
  queuesLegacy: ['rag_flow_svr_queue_1', 'rag_flow_svr_queue'] as readonly string[],
  workerSet: 'TASKEXE',
  cancelKey: (taskId: string) => `${taskId}-cancel`,
  maxRetries: 3,
  abandonMessage: 'ERROR: Task is abandoned after 3 times attempts.',
  maxTaskPageNumber: 100_000_000,
  progressMsgMaxLength: 3000,
} as const;

export type QueueNaming = 'current' | 'legacy';

export function ragflowQueueName(priority: number, naming: QueueNaming = 'current'): string {
  if (naming === 'legacy') return priority === 0 ? 'rag_flow_svr_queue' : `rag_flow_svr_queue_${priority}`;
  return `te.${priority}.common`;
}

export function ragflowQueueNames(naming: QueueNaming = 'current'): string[] {
  return [...(naming === 'legacy' ? RAGFLOW.queuesLegacy : RAGFLOW.queuesCurrent)];
}
