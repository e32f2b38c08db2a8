import type { DocStore } from '@ragline/docstore';
import { cancelTask, type RagflowQueueProducer } from '@ragline/redis-queue';
import type { ObjectStore } from '@ragline/storage';
import { TaskDbNotFoundError, deleteDocumentRows, documentTaskIds, planReparse, type TaskDb } from '@ragline/taskdb';
import type { Redis } from 'ioredis';
import { splitInfo } from './ingest.js';

export interface DocumentActionDeps {
  taskdb: TaskDb;
  store: ObjectStore;
  docstore: DocStore;
  producer: RagflowQueueProducer;
  redis: Redis;
  /** RAGFlow stream the new tasks go to (priority 0: the last of the configured streams) */
  queue: string;
}

export interface ReparseResult {
  docId: string;
  /** new tasks put on RAGFlow's queue */
  queued: string[];
  /** new tasks that took over the chunks of an identical earlier task (not parsed or embedded again) */
  reused: string[];
  reusedChunks: number;
  /** earlier chunks removed from the doc store */
  removedChunks: number;
}

// RAGFlow's chunking counter keys (seed_doc_chunking_counter), as `ragline ingest` writes them
const pendingKey = (docId: string) => `doc:chunking_pending:${docId}`;
const abortedKey = (docId: string) => `doc:chunking_aborted:${docId}`;

/**
 * `ragline reparse <doc_id>`: RAGFlow's document run action. The document's tasks are planned again
 * (its file read for the page or row count), identical finished tasks keep their chunks, the other
 * earlier chunks are removed from the doc store *before* the new tasks are queued (a new task may
 * write chunks with the same ids: chunk ids hash content and document), and the new tasks go to
 * the priority-0 stream. A document with unfinished tasks is refused (DocumentBusyError).
 */
export async function reparseDocument(deps: DocumentActionDeps, docId: string): Promise<ReparseResult> {
  const doc = await deps.taskdb.getDocument(docId);
  if (!doc) throw new TaskDbNotFoundError(`document ${docId} not found`);
  // `ragline ingest` stores a document in its knowledge base's bucket under its location
  const name = doc.name ?? doc.location ?? docId;
  const data = await deps.store.get(doc.kb_id, doc.location || name);
  const info = await splitInfo(name, data, doc.parser_id, doc.type === 'pdf' ? 'pdf' : undefined);
  const plan = await planReparse(deps.taskdb, docId, info);
  const removedChunks = plan.staleChunkIds.length ? await deps.docstore.deleteByIds(plan.tenantId, plan.kbId, plan.staleChunkIds) : 0;
  if (plan.queue.length) {
    await deps.redis.set(pendingKey(docId), String(plan.queue.length), 'EX', 7 * 24 * 3600);
    await deps.redis.del(abortedKey(docId));
    for (const t of plan.queue) await deps.producer.enqueue(deps.queue, { ...t });
  } else {
    // every task reused: nothing will report progress, so settle the document now
    await deps.taskdb.syncDocuments([docId]);
  }
  return { docId, queued: plan.queue.map((t) => t.id), reused: plan.reusedTasks, reusedChunks: plan.reusedChunks, removedChunks };
}

export interface DeleteResult {
  docId: string;
  cancelledTasks: number;
  removedChunks: number;
}

/**
 * `ragline delete <doc_id>`: RAGFlow's document removal. Every task's cancel flag is set first, so
 * no stage writes for them again (the indexer takes back a batch it wrote while the flag landed);
 * then the rows go with the knowledge base's counts, then every chunk of the document and its file.
 */
export async function deleteDocument(deps: DocumentActionDeps, docId: string): Promise<DeleteResult> {
  const before = await documentTaskIds(deps.taskdb, docId);
  for (const id of before) await cancelTask(deps.redis, id);
  const deleted = await deleteDocumentRows(deps.taskdb, docId);
  if (!deleted) throw new TaskDbNotFoundError(`document ${docId} not found`);
  // tasks queued between the two reads
  for (const id of deleted.taskIds) if (!before.includes(id)) await cancelTask(deps.redis, id);
  const removedChunks = await deps.docstore.deleteByDoc(deleted.tenantId, deleted.kbId, docId);
  if (await deps.store.exists(deleted.bucket, deleted.name)) await deps.store.remove(deleted.bucket, deleted.name);
  await deps.redis.del(pendingKey(docId), abortedKey(docId));
  return { docId, cancelledTasks: new Set([...before, ...deleted.taskIds]).size, removedChunks };
}
