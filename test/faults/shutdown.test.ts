import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Publisher, connectNats, type JsMsg, type NatsConnection } from '@ragline/bus';
import { ChunkBatch, msgIds, type TaskRef } from '@ragline/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEnvironment, type Environment } from '../support/pipeline.js';
import { startFaultyEmbeddingServer, type FaultyEmbeddingServer } from './support/services.js';

/**
 * SIGTERM to a stage process with work in flight (issue 21): the drain stops pulling, gives the
 * handlers SHUTDOWN_GRACE_MS, hands back what is still running with a nak without delay, and only
 * then drains NATS and quits Redis. So every in-flight message is redelivered at once, not after the
 * consumer's ack wait (60 s here). The embedder's model server hangs, so its batches never finish.
 */

const ACK_WAIT_MS = 60_000;
const GRACE_MS = 1500;
const BATCHES = 4;

const hex = (bytes: number) => randomBytes(bytes).toString('hex');

function chunkBatch(n: number): ChunkBatch {
  const task: TaskRef = {
    task_id: hex(16),
    doc_id: hex(16),
    kb_id: hex(16),
    tenant_id: hex(16),
    embd_id: 'fault-fixture@OpenAI-API-Compatible',
    doc_name: `held-${n}.txt`,
    from_page: 0,
    to_page: 100_000_000,
    received_at: Date.now(),
  };
  return ChunkBatch.parse({
    v: 1,
    kind: 'chunks',
    task,
    batch_no: 0,
    chunks: [
      {
        id: hex(8),
        doc_id: task.doc_id,
        kb_id: task.kb_id,
        docnm_kwd: task.doc_name,
        title_tks: 'held',
        title_sm_tks: 'held',
        content_with_weight: `batch ${n} held by a model server that never answers`,
        content_ltks: `batch ${n} held by a model server that never answer`,
        content_sm_ltks: `batch ${n} held by a model server that never answer`,
        page_num_int: [1],
        position_int: [[1, 0, 100, 0, 20]],
        top_int: [0],
        important_kwd: [],
        create_time: '2024-01-01 00:00:00',
        create_timestamp_flt: 1704067200,
        img_id: '',
        token_count: 10,
      },
    ],
  });
}

describe('SIGTERM with messages in flight', () => {
  let server: FaultyEmbeddingServer;
  let env: Environment;
  let nc: NatsConnection;

  beforeAll(async () => {
    server = await startFaultyEmbeddingServer({ dim: 64 });
    server.setFault({ kind: 'hang' });
    env = await createEnvironment({
      ...server.env('openai'),
      NATS_ACK_WAIT_MS: String(ACK_WAIT_MS),
      SHUTDOWN_GRACE_MS: String(GRACE_MS),
      // one worker per batch: none left pulling, so what comes back goes to the test's own pull
      EMBEDDER_CONCURRENCY: String(BATCHES),
      EMBEDDING_TIMEOUT_MS: String(ACK_WAIT_MS),
      EMBEDDING_MAX_RETRIES: '0',
    });
    nc = await connectNats({ url: env.env.NATS_URL, name: `shutdown-test-${env.id}` });
  });
  afterAll(async () => {
    await nc?.close();
    await env?.cleanup();
    await server?.close();
  });

  it(`embedder: every in-flight batch is redelivered within seconds of SIGTERM (ack wait ${ACK_WAIT_MS / 1000} s), then exit 0`, async () => {
    env.start('embedder');
    await env.waitFor('embedder ready', async () => env.logs.some((l) => l.app === 'embedder.0' && l.line.includes('"msg":"embedder ready"')));
    const publisher = new Publisher(nc);
    const sent = Array.from({ length: BATCHES }, (_, i) => chunkBatch(i));
    for (const b of sent) {
      await publisher.publish(env.names.subjects.chunks, ChunkBatch, b, { msgID: msgIds.chunkBatch(b.task, 0), taskId: b.task.task_id, docId: b.task.doc_id });
    }
    const jsm = await publisher.js.jetstreamManager();
    const { streams, consumers } = env.names;
    // every batch delivered and held by a handler waiting on the model server
    await env.waitFor('all batches in flight', async () => {
      const ci = await jsm.consumers.info(streams.chunks, consumers.embedder);
      return ci.num_ack_pending === BATCHES && ci.num_pending === 0 && server.stats.hung > 0;
    });

    const from = env.logs.length;
    const t0 = Date.now();
    const exited = env.stop('embedder.0', 'SIGTERM');
    // take the batches back through the stage's own durable consumer, as another replica would
    const consumer = await publisher.js.consumers.get(streams.chunks, consumers.embedder);
    const back = new Map<number, { ms: number; deliveries: number; task: string }>();
    while (back.size < BATCHES && Date.now() - t0 < 15_000) {
      const m: JsMsg | null = await consumer.next({ expires: 1000 });
      if (!m) continue;
      back.set(m.info.streamSequence, { ms: Date.now() - t0, deliveries: m.info.deliveryCount, task: ChunkBatch.parse(m.json()).task.task_id });
      m.ack();
    }
    const code = await exited;
    const stoppedMs = Date.now() - t0;
    const lines = env.logs.slice(from).filter((l) => l.app === 'embedder.0').map((l) => JSON.parse(l.line) as Record<string, unknown>);
    console.log(
      `[faults] SIGTERM embedder with ${BATCHES} batches in flight: exit ${code} after ${stoppedMs} ms; redelivered after ` +
        [...back.values()].map((b) => `${b.ms} ms (delivery ${b.deliveries})`).join(', '),
    );

    expect(code).toBe(0);
    expect([...back.values()].map((b) => b.task).sort()).toEqual(sent.map((b) => b.task.task_id).sort());
    for (const b of back.values()) {
      expect(b.deliveries).toBeGreaterThanOrEqual(2);
      // handed back when the grace period ran out: well before the ack wait would have returned it
      expect(b.ms).toBeLessThan(GRACE_MS + 3000);
    }
    // the drain ran its phases in order, and none failed (a nak on a drained connection would)
    // the drain ran its phases in order (by their log times: the pipes may hand lines over out of order)
    const phaseAt = new Map(lines.filter((l) => l.msg === 'shutdown phase done').map((l) => [l.phase as string, Date.parse(l.time as string)]));
    const order = ['intake', 'in-flight', 'close', 'drain', 'telemetry'];
    expect([...phaseAt.keys()].sort()).toEqual([...order].sort());
    for (let i = 1; i < order.length; i++) expect(phaseAt.get(order[i]!)!, `${order[i]} after ${order[i - 1]}`).toBeGreaterThanOrEqual(phaseAt.get(order[i - 1]!)!);
    // and none failed (a nak or ack on an already drained connection would)
    expect(lines.filter((l) => l.msg === 'shutdown step failed')).toEqual([]);
    expect(lines.some((l) => l.msg === 'stopped')).toBe(true);
    // nothing left held by the stopped replica
    const ci = await jsm.consumers.info(streams.chunks, consumers.embedder);
    expect(ci.num_ack_pending + ci.num_pending).toBe(0);
  });
});
