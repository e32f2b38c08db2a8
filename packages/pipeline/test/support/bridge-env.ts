import { randomBytes } from 'node:crypto';
import { Publisher, connectNats, deleteTopology, ensureTopology, type NatsConnection } from '@ragline/bus';
import { TaskMessage, decode, topologyNames, type TopologyNames } from '@ragline/contracts';
import { RagflowQueueConsumer, RagflowQueueProducer, createRedis, type RagflowQueueConsumerOptions } from '@ragline/redis-queue';
import { createTaskDb, type DocumentRow, type KnowledgebaseRow, type QueuedTask, type TaskDb } from '@ragline/taskdb';
import { dropDatabase, rawQuery } from '@ragline/taskdb/testing';
import { createLogger, startTelemetry } from '@ragline/telemetry';
import type { Redis } from 'ioredis';
import { cancelChecker, createBridge, type BridgeDeps } from '../../src/index.js';

export const rand = (): string => randomBytes(5).toString('hex');

const MYSQL = { host: '127.0.0.1', port: 3306, user: 'root', password: '' };
/** Redis database the tests use: never RAGFlow's default (1), so a developer's local RAGFlow is untouched. */
const REDIS_DB = 15;
const EMBD_ID = 'BAAI/bge-m3@Builtin';

const logger = createLogger({ service: 't', level: 'silent' });
const tracer = startTelemetry({ serviceName: 't', env: {} }).tracer;

export interface SeededTask {
  kb: KnowledgebaseRow;
  doc: DocumentRow;
  /** the queue message RAGFlow's API server puts on the stream */
  message: QueuedTask;
}

export interface PublishedTask {
  body: TaskMessage;
  headers: Record<string, string>;
}

/** One JetStream topology, one Redis key prefix and one pair of queue streams for a single test. */
export interface BridgeScenario {
  readonly names: TopologyNames;
  readonly redis: Redis;
  readonly producer: RagflowQueueProducer;
  /** RAGFlow's two priority streams, high first (as the bridge reads them) */
  readonly streams: { high: string; low: string };
  /** a queue consumer over both streams; closed in cleanup */
  consumer(name: string, opts?: Partial<RagflowQueueConsumerOptions>): RagflowQueueConsumer;
  /** the bridge under test, wired to real Redis, MySQL and JetStream; any dependency can be swapped */
  bridge(queue: RagflowQueueConsumer, overrides?: Partial<BridgeDeps>): ReturnType<typeof createBridge>;
  /** reads `count` task messages as the parser's durable consumer would (not acked, so they stay counted) */
  takeTasks(count: number): Promise<PublishedTask[]>;
  /** messages in the tasks stream right now */
  taskStreamCount(): Promise<number>;
  /** entries of `stream` still pending in RAGFlow's consumer group */
  pendingCount(stream: string): Promise<number>;
  /** the `message` fields of every entry of `stream` */
  streamMessages(stream: string): Promise<string[]>;
  cleanup(): Promise<void>;
}

/**
 * Shared per test file: a migrated MySQL database of its own with one tenant and knowledge base,
 * and a NATS connection. `scenario()` gives each test fresh streams, so tests never see each
 * other's messages.
 */
export interface BridgeWorld {
  readonly taskdb: TaskDb;
  readonly nc: NatsConnection;
  readonly tenantId: string;
  readonly kb: KnowledgebaseRow;
  /** a document uploaded and queued the way RAGFlow's API server does it: one task */
  seedTask(opts?: { priority?: number }): Promise<SeededTask>;
  /** sets columns of a task row directly (for states the producer API does not create) */
  updateTask(taskId: string, values: Record<string, string | number>): Promise<void>;
  /** links a document to a file-manager file, as RAGFlow's file manager upload does */
  linkFileManagerFile(docId: string, folderId: string, location: string): Promise<void>;
  scenario(): Promise<BridgeScenario>;
  close(): Promise<void>;
}

/**
 * TaskDb has no API for raw SQL and the pipeline package has no MySQL driver of its own; tests that
 * need rows only RAGFlow's other services write go through TaskDb's connection pool.
 */
function sqlOf(db: TaskDb): (sql: string, params: unknown[]) => Promise<unknown> {
  return (sql, params) => rawQuery(db, sql, params);
}

export async function openBridgeWorld(): Promise<BridgeWorld> {
  const taskdb = createTaskDb({ ...MYSQL, database: `ragline_bt_${rand()}`, connectionLimit: 4 });
  await taskdb.migrate();
  const nc = await connectNats({ name: 'bridge-test' });
  const tenantId = await taskdb.ensureTenant({ name: 'bridge-test', embdId: EMBD_ID });
  const kb = await taskdb.ensureKnowledgebase({ name: 'kb', tenantId, embdId: EMBD_ID, parserConfig: { chunk_token_num: 128 } });
  const sql = sqlOf(taskdb);
  const scenarios = new Set<BridgeScenario>();

  async function seedTask(opts: { priority?: number } = {}): Promise<SeededTask> {
    const name = `notes-${rand()}.txt`;
    const doc = await taskdb.createDocument({
      kbId: kb.id,
      name,
      location: name,
      size: 321,
      type: 'doc',
      suffix: 'txt',
      parserId: 'naive',
      parserConfig: { chunk_token_num: 256, delimiter: '\n' },
    });
    const queued = await taskdb.queueDocument(doc.id, {}, { priority: opts.priority ?? 0 });
    if (queued.length !== 1) throw new Error(`expected one task for a text document, got ${queued.length}`);
    return { kb, doc, message: queued[0]! };
  }

  async function scenario(): Promise<BridgeScenario> {
    const id = rand();
    const names = topologyNames(`bt_${id}`, `BT_${id}`);
    const jsm = await ensureTopology(nc, names, { duplicateWindowMs: 60_000 });
    const redis = createRedis({ db: REDIS_DB, keyPrefix: `bt-${id}:` });
    const producer = new RagflowQueueProducer(redis);
    const streams = { high: `bt.${id}.1`, low: `bt.${id}.0` };
    const consumers: RagflowQueueConsumer[] = [];
    // Publisher.js is the JetStream client; @nats-io/jetstream is not a dependency of this package
    const taskConsumer = await new Publisher(nc).js.consumers.get(names.streams.tasks, names.consumers.parser);

    const s: BridgeScenario = {
      names,
      redis,
      producer,
      streams,
      consumer(name, opts = {}) {
        // blockMs short: a poll over empty streams should not hold a test for RagflowQueueConsumer's 2 s default
        const c = new RagflowQueueConsumer(redis, { streams: [streams.high, streams.low], consumer: name, blockMs: 50, ...opts });
        consumers.push(c);
        return c;
      },
      bridge(queue, overrides = {}) {
        return createBridge({
          queue,
          taskdb,
          publisher: new Publisher(nc),
          names,
          isCancelled: cancelChecker(redis, 0),
          logger,
          tracer,
          ...overrides,
        });
      },
      async takeTasks(count) {
        const out: PublishedTask[] = [];
        const iter = await taskConsumer.fetch({ max_messages: count, expires: 2000 });
        for await (const m of iter) {
          const headers: Record<string, string> = {};
          for (const k of m.headers?.keys() ?? []) headers[k] = m.headers!.get(k);
          out.push({ body: decode(TaskMessage, m.data), headers });
        }
        return out;
      },
      async taskStreamCount() {
        return (await jsm.streams.info(names.streams.tasks)).state.messages;
      },
      async pendingCount(stream) {
        const summary = (await redis.xpending(stream, 'rag_flow_svr_task_broker')) as [number, ...unknown[]];
        return Number(summary[0]);
      },
      async streamMessages(stream) {
        const entries = await redis.xrange(stream, '-', '+');
        return entries.map(([, fields]) => fields[fields.indexOf('message') + 1]!);
      },
      async cleanup() {
        scenarios.delete(s);
        for (const c of consumers) c.close();
        await deleteTopology(nc, names);
        let cursor = '0';
        // SCAN does not apply the client's key prefix, DEL does: strip it from what SCAN returns
        const prefix = `bt-${id}:`;
        do {
          const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
          cursor = next;
          if (keys.length > 0) await redis.del(...keys.map((k) => k.slice(prefix.length)));
        } while (cursor !== '0');
        redis.disconnect();
      },
    };
    scenarios.add(s);
    return s;
  }

  return {
    taskdb,
    nc,
    tenantId,
    kb,
    seedTask,
    async updateTask(taskId, values) {
      const cols = Object.keys(values);
      await sql(`UPDATE task SET ${cols.map((c) => `\`${c}\` = ?`).join(', ')} WHERE id = ?`, [...cols.map((c) => values[c]), taskId]);
    },
    async linkFileManagerFile(docId, folderId, location) {
      const fileId = rand();
      await sql(
        "INSERT INTO file (id, parent_id, tenant_id, created_by, name, location, size, type, source_type) VALUES (?, ?, ?, ?, ?, ?, 1, 'doc', '')",
        [fileId, folderId, tenantId, tenantId, location, location],
      );
      await sql('INSERT INTO file2document (id, file_id, document_id) VALUES (?, ?, ?)', [rand(), fileId, docId]);
    },
    scenario,
    async close() {
      for (const s of [...scenarios]) await s.cleanup();
      await nc.close();
      await dropDatabase(taskdb);
      await taskdb.close();
    },
  };
}
