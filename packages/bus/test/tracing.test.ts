import { setTimeout as sleep } from 'node:timers/promises';
import { jetstream } from '@nats-io/jetstream';
import { DeadLetter, ProgressEvent, decode, type ProgressEvent as PE } from '@ragline/contracts';
import {
  InMemorySpanExporter,
  SimpleSpanProcessor,
  SpanKind,
  SpanStatusCode,
  startTelemetry,
  trace,
  type ReadableSpan,
  type Telemetry,
} from '@ragline/telemetry';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MessageTooLargeError, PUBLISHED_AT_HEADER, PermanentError, Publisher, runBatchConsumer, runConsumer } from '../src/index.js';
import { logger, privateTopology, onEvents } from './helpers.js';

const exporter = new InMemorySpanExporter();
let telemetry: Telemetry;
beforeAll(() => {
  // an own provider: the tracer is passed explicitly to everything under test
  telemetry = startTelemetry({ serviceName: 'bus-tracing-test', env: {}, spanProcessors: [new SimpleSpanProcessor(exporter)] });
});
afterAll(() => telemetry.shutdown());
beforeEach(() => exporter.reset());

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function setup() {
  const t = await privateTopology();
  cleanups.push(t.cleanup);
  return t;
}

function progress(taskId: string, msg: string): PE {
  return { v: 1, kind: 'progress', task_id: taskId, doc_id: 'd1', at: Date.now(), stage: 'parser', progress: 0.5, msg, page_range: null };
}

async function waitFor(cond: () => boolean, ms = 10_000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return;
    await sleep(25);
  }
  throw new Error('condition not met in time');
}

const spans = (pred: (s: ReadableSpan) => boolean) => exporter.getFinishedSpans().filter(pred);
const one = (pred: (s: ReadableSpan) => boolean) => {
  const found = spans(pred);
  expect(found).toHaveLength(1);
  return found[0]!;
};

describe('trace context through NATS headers', () => {
  it('publish opens a PRODUCER send span under the caller; the consumer process span is its child', async () => {
    const t = await setup();
    const subject = t.names.subjects.progress;
    const pub = new Publisher(t.nc, { tracer: telemetry.tracer });
    const received: { headers: Record<string, string[]>; activeTrace?: string }[] = [];
    const rc = runConsumer({
      ...onEvents(t),
      dlqSubject: t.names.subjects.dlq('monitor'),
      logger,
      tracer: telemetry.tracer,
      handler: async (_m, ctx) => {
        received.push({ headers: ctx.headers, activeTrace: ctx.span.spanContext().traceId });
      },
    });
    cleanups.push(() => rc.stop(500));

    const caller = await telemetry.tracer.startActiveSpan('caller', async (span) => {
      // the consumer is already pulling: this delay becomes measurable queue time only if we hold the message
      await pub.publish(subject, ProgressEvent, progress('task-1', 'hello'), { msgID: 'msg-1', taskId: 'task-1', docId: 'doc-1' });
      span.end();
      return span.spanContext();
    });
    await waitFor(() => rc.stats.done === 1);
    await waitFor(() => spans((s) => s.name === `process ${subject}`).length === 1);

    const send = one((s) => s.name === `send ${subject}`);
    const processSpan = one((s) => s.name === `process ${subject}`);
    expect(send.kind).toBe(SpanKind.PRODUCER);
    expect(send.spanContext().traceId).toBe(caller.traceId);
    expect(send.parentSpanContext?.spanId).toBe(caller.spanId);
    expect(send.attributes).toMatchObject({
      'messaging.system': 'nats',
      'messaging.destination.name': subject,
      'messaging.operation.name': 'send',
      'messaging.operation.type': 'send',
      'messaging.message.id': 'msg-1',
      'task.id': 'task-1',
      'doc.id': 'doc-1',
      'ragline.duplicate': false,
    });
    expect(send.attributes['messaging.message.body.size']).toBeGreaterThan(50);
    expect(send.attributes['ragline.stream.sequence']).toBe(1);

    // what travelled: the send span's context, not the caller's, plus the publish time
    const h = received[0]!.headers;
    expect(h.traceparent).toEqual([`00-${caller.traceId}-${send.spanContext().spanId}-01`]);
    const publishedAt = Number(h[PUBLISHED_AT_HEADER]![0]);
    expect(publishedAt).toBeGreaterThanOrEqual(send.startTime[0] * 1000 - 1000);

    expect(processSpan.kind).toBe(SpanKind.CONSUMER);
    expect(processSpan.spanContext().traceId).toBe(caller.traceId);
    expect(processSpan.parentSpanContext).toMatchObject({ spanId: send.spanContext().spanId, isRemote: true });
    expect(processSpan.attributes).toMatchObject({ 'messaging.message.id': 'msg-1', 'task.id': 'task-1' });
    expect(processSpan.attributes['ragline.queue_wait_ms']).toBeGreaterThanOrEqual(0);
    expect(received[0]!.activeTrace).toBe(caller.traceId);
  });

  it('queue wait measures how long the message sat in the stream before processing started', async () => {
    const t = await setup();
    const subject = t.names.subjects.progress;
    const pub = new Publisher(t.nc, { tracer: telemetry.tracer });
    await pub.publish(subject, ProgressEvent, progress('task-q', 'queued'), { msgID: 'q-1', taskId: 'task-q' });
    await sleep(400);
    const rc = runConsumer({
      ...onEvents(t),
      dlqSubject: t.names.subjects.dlq('monitor'),
      logger,
      tracer: telemetry.tracer,
      handler: async () => undefined,
    });
    cleanups.push(() => rc.stop(500));
    await waitFor(() => spans((s) => s.name === `process ${subject}`).length === 1);
    const wait = one((s) => s.name === `process ${subject}`).attributes['ragline.queue_wait_ms'] as number;
    expect(wait).toBeGreaterThanOrEqual(400);
    expect(wait).toBeLessThan(10_000);
  });

  it('without an active span the send span is a new root, and a refused publish is an ERROR span', async () => {
    const t = await setup();
    const subject = t.names.subjects.progress;
    const pub = new Publisher(t.nc, { tracer: telemetry.tracer });
    await pub.publish(subject, ProgressEvent, progress('task-r', 'root'), { msgID: 'r-1' });
    const root = one((s) => s.name === `send ${subject}`);
    expect(root.parentSpanContext).toBeUndefined();
    expect(root.attributes['task.id']).toBeUndefined();

    exporter.reset();
    await expect(pub.publishRaw(subject, new Uint8Array(pub.maxPayload + 1), { msgID: 'too-big' })).rejects.toBeInstanceOf(MessageTooLargeError);
    const refused = one((s) => s.name === `send ${subject}`);
    expect(refused.status.code).toBe(SpanStatusCode.ERROR);
    expect(refused.events.map((e) => e.name)).toContain('exception');
  });
});

describe('batch consumer tracing', () => {
  it('one process span per batch linked to every message, and a per-message span in each message trace', async () => {
    const t = await setup();
    const subject = t.names.subjects.progress;
    const pub = new Publisher(t.nc, { tracer: telemetry.tracer });
    const callers: { traceId: string; spanId: string }[] = [];
    for (let i = 0; i < 3; i++) {
      callers.push(
        await telemetry.tracer.startActiveSpan(`caller-${i}`, async (span) => {
          await pub.publish(subject, ProgressEvent, progress(`task-${i}`, `m${i}`), { msgID: `bm-${i}`, taskId: `task-${i}` });
          span.end();
          return span.spanContext();
        }),
      );
    }
    const handlerSaw: { itemTraces: string[]; activeTrace?: string }[] = [];
    const bc = runBatchConsumer({
      ...onEvents(t),
      dlqSubject: t.names.subjects.dlq('monitor'),
      logger,
      tracer: telemetry.tracer,
      handler: async (items) => {
        handlerSaw.push({
          itemTraces: items.map((i) => trace.getSpanContext(i.traceContext!)!.traceId),
          activeTrace: trace.getActiveSpan()?.spanContext().traceId,
        });
      },
    });
    cleanups.push(() => bc.stop(500));
    await waitFor(() => bc.stats.done === 3);
    await waitFor(() => spans((s) => s.name === `process ${t.names.streams.events}`).length === 1);

    expect(handlerSaw).toHaveLength(1);
    expect(handlerSaw[0]!.itemTraces).toEqual(callers.map((c) => c.traceId));
    const sends = callers.map((c) => one((s) => s.name === `send ${subject}` && s.spanContext().traceId === c.traceId));

    const batch = one((s) => s.name === `process ${t.names.streams.events}`);
    expect(batch.kind).toBe(SpanKind.CONSUMER);
    expect(batch.parentSpanContext).toBeUndefined();
    expect(handlerSaw[0]!.activeTrace).toBe(batch.spanContext().traceId);
    expect(batch.attributes).toMatchObject({ 'messaging.system': 'nats', 'messaging.operation.name': 'process', 'messaging.batch.message_count': 3 });
    expect(batch.links.map((l) => l.context.spanId).sort()).toEqual(sends.map((s) => s.spanContext().spanId).sort());
    expect(batch.links.map((l) => l.context.traceId).sort()).toEqual(callers.map((c) => c.traceId).sort());

    for (const [i, send] of sends.entries()) {
      const item = one((s) => s.name === `process ${subject}` && s.spanContext().traceId === callers[i]!.traceId);
      expect(item.kind).toBe(SpanKind.CONSUMER);
      expect(item.parentSpanContext?.spanId).toBe(send.spanContext().spanId);
      expect(item.links.map((l) => l.context.spanId)).toEqual([batch.spanContext().spanId]);
      expect(item.attributes).toMatchObject({ 'task.id': `task-${i}`, 'messaging.message.id': `bm-${i}`, 'ragline.event.kind': 'progress' });
      expect(item.attributes['ragline.queue_wait_ms']).toBeGreaterThanOrEqual(0);
    }
  });

  it('a failed batch marks each message span ERROR and the dead letter continues the message trace', async () => {
    const t = await setup();
    const subject = t.names.subjects.progress;
    const pub = new Publisher(t.nc, { tracer: telemetry.tracer });
    const caller = await telemetry.tracer.startActiveSpan('caller', async (span) => {
      await pub.publish(subject, ProgressEvent, progress('task-f', 'doomed'), { msgID: 'f-1', taskId: 'task-f', docId: 'doc-f' });
      span.end();
      return span.spanContext();
    });
    const bc = runBatchConsumer({
      ...onEvents(t),
      dlqSubject: t.names.subjects.dlq('monitor'),
      logger,
      tracer: telemetry.tracer,
      handler: async () => {
        throw new PermanentError('cannot write progress');
      },
    });
    cleanups.push(() => bc.stop(500));
    await waitFor(() => bc.stats.deadLettered === 1);
    await waitFor(() => spans((s) => s.name === `process ${subject}`).length === 1);

    const item = one((s) => s.name === `process ${subject}`);
    expect(item.spanContext().traceId).toBe(caller.traceId);
    expect(item.status).toEqual({ code: SpanStatusCode.ERROR, message: 'cannot write progress' });
    expect(item.events.map((e) => e.name)).toEqual(expect.arrayContaining(['exception', 'dead_lettered']));
    const batch = one((s) => s.name === `process ${t.names.streams.events}`);
    expect(batch.status.code).toBe(SpanStatusCode.ERROR);

    const dlqSend = one((s) => s.name === `send ${t.names.subjects.dlq('monitor')}`);
    expect(dlqSend.spanContext().traceId).toBe(caller.traceId);
    expect(dlqSend.parentSpanContext?.spanId).toBe(item.spanContext().spanId);
    expect(dlqSend.attributes).toMatchObject({ 'task.id': 'task-f', 'doc.id': 'doc-f' });

    const dlq = await jetstream(t.nc).consumers.get(t.names.streams.dlq);
    const fetched = [];
    for await (const msg of await dlq.fetch({ max_messages: 1, expires: 1000 })) fetched.push(msg);
    const [m] = fetched;
    expect(m!.headers?.get('traceparent')).toBe(`00-${caller.traceId}-${dlqSend.spanContext().spanId}-01`);
    expect(decode(DeadLetter, m!.data).task_id).toBe('task-f');
  });

  it('messageSpans: false leaves only the linked batch span', async () => {
    const t = await setup();
    const subject = t.names.subjects.progress;
    const pub = new Publisher(t.nc, { tracer: telemetry.tracer });
    await pub.publish(subject, ProgressEvent, progress('task-n', 'n'), { msgID: 'n-1', taskId: 'task-n' });
    const bc = runBatchConsumer({
      ...onEvents(t),
      dlqSubject: t.names.subjects.dlq('monitor'),
      logger,
      tracer: telemetry.tracer,
      messageSpans: false,
      handler: async () => undefined,
    });
    cleanups.push(() => bc.stop(500));
    await waitFor(() => bc.stats.done === 1);
    await waitFor(() => spans((s) => s.name === `process ${t.names.streams.events}`).length === 1);
    expect(spans((s) => s.name === `process ${subject}`)).toHaveLength(0);
    expect(one((s) => s.name === `process ${t.names.streams.events}`).links).toHaveLength(1);
  });
});
