import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Publisher, TaskStateStore, connectNats, deleteTopology, ensureTopology, type DeliveryContext, type JetStreamManager, type NatsConnection } from '@ragline/bus';
import { EmbeddedBatch, decode, packVector, topologyNames, type ChunkInput, type IndexMessage, type Stage, type TaskContext, type TaskMessage, type TopologyNames } from '@ragline/contracts';
import { createLanceDocStore, type DocStore } from '@ragline/docstore';
import { createHashingBackend } from '@ragline/embedding';
import { buildChunks, countTokens, initHashing } from '@ragline/parsing';
import { createRedis } from '@ragline/redis-queue';
import { createLocalStore, type ObjectStore } from '@ragline/storage';
import { createTaskDb, type DocumentRow, type TaskDb } from '@ragline/taskdb';
import { ROOT_CONTEXT, createLogger, startTelemetry, type Logger, type Span } from '@ragline/telemetry';
import type { Redis } from 'ioredis';
import type { z } from 'zod';
import { cancelChecker, createIndexHandler, progressReporter, taskRef, type CancelCheck, type IndexStageDeps, type ProgressReporter } from '../../src/index.js';

export const rand = (): string => randomBytes(5).toString('hex');
/** RAGFlow's ids are uuid4 hex (32 chars). */
export const hexId = (): string => randomBytes(16).toString('hex');

/** A task as the bridge hands it to the parser: a fresh knowledge base (its bucket) holding `name`. */
export function testTask(name: string, overrides: Partial<TaskContext> = {}): TaskContext {
  const kbId = hexId();
  return {
    task_id: hexId(),
    doc_id: hexId(),
    kb_id: kbId,
    tenant_id: hexId(),
    task_type: '',
    from_page: 0,
    to_page: 100_000_000,
    priority: 0,
    retry_count: 1,
    parser_id: 'naive',
    parser_config: {},
    doc_name: name,
    doc_type: 'doc',
    bucket: kbId,
    location: name,
    size: 0,
    language: 'English',
    embd_id: EMBD_ID,
    pagerank: 0,
    received_at: Date.now(),
    ...overrides,
  };
}

export function testTaskMessage(task: TaskContext): TaskMessage {
  return { v: 1, kind: 'task', task, source: { stream: 'te.0.common', entry_id: '1-0' } };
}

export const logger: Logger = createLogger({ service: 't', level: 'silent' });
export const tracer = startTelemetry({ serviceName: 't', env: {} }).tracer;

export const MYSQL = { host: '127.0.0.1', port: 3306, user: 'root', password: '' };
/** Redis database the tests use: never RAGFlow's default (1), so a developer's local RAGFlow is untouched. */
export const REDIS_DB = 15;
export const EMBD_ID = 'BAAI/bge-m3@Builtin';

/** A DeliveryContext as the consumer loop builds it, plus how often the handler said it was still working. */
export type TestDeliveryContext = DeliveryContext & { readonly workingCalls: number };

/** One message read back from a stream, with its headers flattened to their first value. */
export interface Received<T> {
  msg: T;
  subject: string;
  headers: Record<string, string>;
}

/**
 * One JetStream topology, Redis key prefix, object folder and doc store folder for a single test:
 * the real dependencies of the parser, embedder and indexer stages, and nothing shared with other tests.
 */
export interface StageWorld {
  readonly nc: NatsConnection;
  readonly jsm: JetStreamManager;
  readonly names: TopologyNames;
  readonly publisher: Publisher;
  readonly redis: Redis;
  readonly store: ObjectStore;
  readonly docstore: DocStore;
  readonly taskState: TaskStateStore;
  /** cache TTL 0: a cancel flag set by a test is seen by the very next check */
  readonly isCancelled: CancelCheck;
  progress(stage: Stage): ProgressReporter;
  /** a fresh context for a direct handler call (its span is ended in cleanup) */
  ctx(overrides?: Partial<DeliveryContext>): TestDeliveryContext;
  /** a parse task for a document `name` of a fresh tenant/kb/doc; the object lives at (kb_id, location) */
  task(name: string, overrides?: Partial<TaskContext>): TaskContext;
  taskMessage(task: TaskContext): TaskMessage;
  /**
   * Every message not yet read from `stream` through the stage's durable consumer, decoded with
   * `schema` and acked (so the next call returns only newer ones and the work-queue stream shrinks).
   */
  read<S extends z.ZodType>(stream: string, durable: string, schema: S): Promise<Received<z.output<S>>[]>;
  /** messages stored in `stream` right now */
  count(stream: string): Promise<number>;
  cleanup(): Promise<void>;
}

function firstValues(h: { keys(): string[]; get(k: string): string } | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of h?.keys() ?? []) out[k] = h!.get(k);
  return out;
}

/** Deletes every key under `prefix` (SCAN ignores the client's keyPrefix, DEL applies it). */
export async function deletePrefixedKeys(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
    cursor = next;
    if (keys.length > 0) await redis.del(...keys.map((k) => k.slice(prefix.length)));
  } while (cursor !== '0');
}

export async function openStageWorld(): Promise<StageWorld> {
  const id = rand();
  const names = topologyNames(`st_${id}`, `ST_${id}`);
  const nc = await connectNats({ name: `stage-test-${id}` });
  const jsm = await ensureTopology(nc, names, { duplicateWindowMs: 60_000 });
  const publisher = new Publisher(nc);
  const redisPrefix = `st-${id}:`;
  const redis = createRedis({ db: REDIS_DB, keyPrefix: redisPrefix });
  const dir = await mkdtemp(join(tmpdir(), `ragline-stage-${id}-`));
  const store = createLocalStore({ root: join(dir, 'objects') });
  const docstore = createLanceDocStore({ dir: join(dir, 'docstore') });
  const taskState = await TaskStateStore.open(nc, names.taskStateBucket);
  const spans: Span[] = [];
  await initHashing();

  return {
    nc,
    jsm,
    names,
    publisher,
    redis,
    store,
    docstore,
    taskState,
    isCancelled: cancelChecker(redis, 0),
    progress: (stage) => progressReporter(publisher, names, stage),
    ctx(overrides = {}) {
      const span = tracer.startSpan('x');
      spans.push(span);
      let workingCalls = 0;
      return {
        subject: 'test',
        streamSeq: 1,
        deliveryCount: 1,
        lastAttempt: false,
        headers: {},
        traceContext: ROOT_CONTEXT,
        span,
        signal: new AbortController().signal,
        working: () => {
          workingCalls++;
        },
        ...overrides,
        get workingCalls() {
          return workingCalls;
        },
      };
    },
    task: testTask,
    taskMessage: testTaskMessage,
    async read(stream, durable, schema) {
      const pending = (await jsm.consumers.info(stream, durable)).num_pending;
      const out: Received<z.output<typeof schema>>[] = [];
      if (pending === 0) return out;
      const consumer = await publisher.js.consumers.get(stream, durable);
      const iter = await consumer.fetch({ max_messages: pending, expires: 2000 });
      for await (const m of iter) {
        out.push({ msg: decode(schema, m.data), subject: m.subject, headers: firstValues(m.headers) });
        await m.ackAck();
      }
      return out;
    },
    async count(stream) {
      return (await jsm.streams.info(stream)).state.messages;
    },
    async cleanup() {
      for (const s of spans) s.end();
      await deleteTopology(nc, names);
      await nc.close();
      await deletePrefixedKeys(redis, redisPrefix);
      redis.disconnect();
      await docstore.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Chunk documents for `texts` as the parser builds them (ids, tokens, positions), one chunk per text. */
export function chunksFor(task: Pick<TaskContext, 'doc_id' | 'kb_id' | 'doc_name'>, texts: string[]): ChunkInput[] {
  return buildChunks(
    task,
    texts.map((text) => ({ text, tokens: countTokens(text), pages: [], positions: [] })),
  );
}

/** A migrated MySQL database of its own (drop it with `dropDatabase()` of `@ragline/taskdb/testing`, then `close()`). */
export async function openTaskDb(): Promise<TaskDb> {
  const taskdb = createTaskDb({ ...MYSQL, database: `ragline_st_${rand()}`, connectionLimit: 4 });
  await taskdb.migrate();
  return taskdb;
}

/** A document uploaded and queued the way RAGFlow's API server does it (a text file: one task). */
export async function seedDocumentTask(taskdb: TaskDb, kbId: string): Promise<{ doc: DocumentRow; taskId: string }> {
  const name = `notes-${rand()}.txt`;
  const doc = await taskdb.createDocument({
    kbId,
    name,
    location: name,
    size: 512,
    type: 'doc',
    suffix: 'txt',
    parserId: 'naive',
    parserConfig: { chunk_token_num: 128 },
  });
  const queued = await taskdb.queueDocument(doc.id);
  if (queued.length !== 1) throw new Error(`expected one task for a text document, got ${queued.length}`);
  return { doc, taskId: queued[0]!.id };
}

/** dimension of the vectors embeddedBatch() makes */
export const HASH_DIM = 1024;
/** the backend embeddedBatch() uses */
export const hashingBackend = createHashingBackend({ dim: HASH_DIM });

/** `texts` of `task` as batch `batchNo`, embedded with the hashing backend as the embedder stage would */
export async function embeddedBatch(task: TaskContext, batchNo: number, texts: string[]): Promise<EmbeddedBatch> {
  const { vectors, tokens } = await hashingBackend.embed(texts);
  return EmbeddedBatch.parse({
    v: 1,
    kind: 'embedded',
    task: taskRef(task),
    batch_no: batchNo,
    model: hashingBackend.model,
    tokens,
    chunks: chunksFor(task, texts),
    vectors: { encoding: 'f32le-base64', dim: HASH_DIM, data: vectors.map(packVector) },
  });
}

/** the parser's closing message for `task`: `batches` batches holding `chunks` chunks */
export const manifestFor = (task: TaskContext, batches: number, chunks: number): IndexMessage => ({
  v: 1,
  kind: 'manifest',
  task: taskRef(task),
  batches,
  chunks,
  parse_ms: 5,
});

/** the indexer stage's handler on the world's bus, task state and doc store; `over` replaces any of its dependencies */
export function indexerFor(w: StageWorld, over: Partial<IndexStageDeps> = {}) {
  return createIndexHandler({
    docstore: w.docstore,
    taskState: w.taskState,
    publisher: w.publisher,
    names: w.names,
    isCancelled: w.isCancelled,
    progress: w.progress('indexer'),
    logger,
    tracer,
    ...over,
  });
}
