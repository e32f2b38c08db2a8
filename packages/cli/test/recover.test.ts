import { randomBytes } from 'node:crypto';
import { Publisher, connectNats, deleteTopology, ensureTopology, type NatsConnection } from '@ragline/bus';
import { loadConfig } from '@ragline/config';
import { TaskMessage, topologyNames } from '@ragline/contracts';
import { dropDatabase } from '@ragline/taskdb/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CliEnv, openClients, type Clients } from '../src/context.js';
import { formatRecovery, recoverTasks } from '../src/recover.js';

const id = randomBytes(4).toString('hex');
const queues = [`rec.${id}.1`, `rec.${id}.0`];
const cfg = loadConfig(CliEnv, {
  MYSQL_URL: `mysql://root@127.0.0.1:3306/ragline_rec_${id}`,
  REDIS_URL: 'redis://127.0.0.1:6379/15',
  REDIS_KEY_PREFIX: `rec-${id}:`,
  RAGLINE_SUBJECT_PREFIX: `rec${id}`,
  RAGLINE_STREAM_PREFIX: `REC${id.toUpperCase()}`,
  RAGFLOW_QUEUES: queues.join(','),
});
const names = topologyNames(cfg.RAGLINE_SUBJECT_PREFIX, cfg.RAGLINE_STREAM_PREFIX);
let c: Clients;
let nc: NatsConnection;

beforeAll(async () => {
  c = openClients(cfg);
  await c.taskdb.migrate();
  nc = await connectNats({ url: cfg.NATS_URL });
  await ensureTopology(nc, names, { duplicateWindowMs: 60_000 });
});
afterAll(async () => {
  await deleteTopology(nc, names);
  await nc.close();
  const keys = await c.redis.keys('*');
  if (keys.length) await c.redis.del(...keys.map((k) => k.slice(cfg.REDIS_KEY_PREFIX.length)));
  await dropDatabase(c.taskdb);
  await c.close();
});

async function queuedDocument(name: string) {
  const tenantId = await c.taskdb.ensureTenant({ name: 'recover', embdId: 'ragline-hash-1024@Ragline' });
  const kb = await c.taskdb.ensureKnowledgebase({ name: 'kb', tenantId, embdId: 'ragline-hash-1024@Ragline' });
  const doc = await c.taskdb.createDocument({ kbId: kb.id, name, location: name, size: 100, type: 'doc', suffix: 'txt', parserId: 'naive', parserConfig: kb.parser_config });
  const [task] = await c.taskdb.queueDocument(doc.id);
  await c.producer.enqueue(queues[1]!, { ...task! });
  return { doc, kb, tenantId, task: task! };
}

describe('ragline recover', () => {
  it('after Redis lost the queue, re-enqueues the unfinished tasks no stage holds, and only those', async () => {
    const lost = await queuedDocument('lost.txt');
    const inPipeline = await queuedDocument('parsing.txt');
    // the bridge had handed this one to JetStream before the restart: the parser still holds it
    const t = inPipeline.task;
    await new Publisher(nc).publish(
      names.subjects.tasks,
      TaskMessage,
      {
        v: 1,
        kind: 'task',
        task: {
          task_id: t.id, doc_id: t.doc_id, kb_id: inPipeline.kb.id, tenant_id: inPipeline.tenantId, task_type: '', from_page: 0, to_page: 100000000,
          priority: 0, retry_count: 1, parser_id: 'naive', parser_config: {}, doc_name: 'parsing.txt', doc_type: 'doc', bucket: inPipeline.kb.id,
          location: 'parsing.txt', size: 100, language: 'English', embd_id: 'ragline-hash-1024@Ragline', pagerank: 0, received_at: Date.now(),
        },
        source: { stream: queues[1]!, entry_id: '1-0' },
      },
      { msgID: `task.${t.id}`, taskId: t.id, docId: t.doc_id },
    );
    // Redis restarts without persistence: the queue is gone
    await c.redis.del(...queues);

    const dry = await recoverTasks(cfg, c, { olderThanMs: 0, dryRun: true });
    expect(dry.requeued.map((r) => r.id)).toEqual([lost.task.id]);
    expect(formatRecovery(dry, { dryRun: true, olderThanMs: 0 })).toContain(`would re-enqueue ${lost.task.id} (document ${lost.doc.id}) to ${queues[1]}`);
    expect(await c.redis.exists(queues[1]!)).toBe(0);

    const r = await recoverTasks(cfg, c, { olderThanMs: 0 });
    expect(r).toMatchObject({ candidates: 2, held: 1, complete: true });
    expect(r.requeued.map((x) => x.id)).toEqual([lost.task.id]);
    const entries = await c.redis.xrange(queues[1]!, '-', '+');
    expect(entries.map(([, fields]) => JSON.parse(fields[1]!).id)).toEqual([lost.task.id]);
    expect((await c.taskdb.getTask(lost.task.id))!.progress_msg).toContain('Re-queued by ragline recover');

    // run again: the re-enqueued task is now held by the queue
    expect((await recoverTasks(cfg, c, { olderThanMs: 0 })).requeued).toEqual([]);
    // and only tasks idle long enough are considered
    expect((await recoverTasks(cfg, c, { olderThanMs: 3_600_000 })).candidates).toBe(0);
  });
});
