import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APPS, createEnvironment, type Environment } from '../support/pipeline.js';
import { SPAN_KIND, STATUS_ERROR, startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../support/otlp-receiver.js';

const SERVICES = ['ragline-bridge', 'ragline-parser', 'ragline-embedder', 'ragline-indexer', 'ragline-monitor'];

function sampleMarkdown(): string {
  return ['tracing', 'queues', 'batches', 'vectors']
    .map((t, i) => `# Part ${i + 1}: ${t}\n\n` + Array.from({ length: 5 }, (_, j) => `Line ${j} on ${t}: every hop of the ${t} path carries its context.`).join('\n') + '\n')
    .join('\n');
}

async function queueDocument(env: Environment, name: string, text: string) {
  const { kb, doc, tasks } = await env.addDocument(name, text, { kb: 'trace' });
  return { kb, doc, task: tasks[0]! };
}

/** A caller's W3C context, as RAGFlow (or any upstream) would put on the Redis entry. */
function externalRoot() {
  const traceId = randomBytes(16).toString('hex');
  const spanId = randomBytes(8).toString('hex');
  return { traceId, spanId, traceparent: `00-${traceId}-${spanId}-01` };
}

describe('tracing end to end (six processes exporting OTLP/HTTP JSON to a receiver)', () => {
  let receiver: OtlpReceiver;
  let env: Environment;
  const ok = externalRoot();
  const failing = externalRoot();
  let okTaskId = '';
  let failingTaskId = '';

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    env = await createEnvironment({
      PARSER_BATCH_CHUNKS: '3',
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_BSP_SCHEDULE_DELAY: '200',
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
      // ratio 0 for new roots: everything the test asserts must come from the caller's sampled context
      OTEL_TRACES_SAMPLER_ARG: '0',
    });
    env.startAll();

    const good = await queueDocument(env, 'traced.md', sampleMarkdown());
    okTaskId = good.task.id;
    await env.producer.enqueue(env.queues[1]!, { ...good.task }, { traceparent: ok.traceparent });
    const bad = await queueDocument(env, 'vanished.md', 'this object is removed before the parser fetches it');
    failingTaskId = bad.task.id;
    await env.store.remove(bad.kb.id, 'vanished.md');
    await env.producer.enqueue(env.queues[1]!, { ...bad.task }, { traceparent: failing.traceparent });

    await env.waitFor('traced task done and vanished task failed', async () => {
      const [t, f] = await Promise.all([env.taskdb.getTask(okTaskId), env.taskdb.getTask(failingTaskId)]);
      if (t && t.progress < 0) throw new Error(`traced task failed: ${t.progress_msg}`);
      return t && t.progress >= 1 && f && f.progress === -1;
    });
    // SIGTERM drains every app and flushes its spans before exit
    const codes = await Promise.all(APPS.map((a) => env.stop(`${a}.0`)));
    expect(codes).toEqual(APPS.map(() => 0));
  });

  afterAll(async () => {
    await env?.cleanup();
    await receiver?.close();
  });

  const byId = (spans: ReceivedSpan[]) => new Map(spans.map((s) => [s.spanId, s]));

  it('exports JSON only and puts every span of the task into the caller trace', () => {
    expect(receiver.rejected).toEqual([]);
    const tagged = receiver.spans.filter((s) => s.attributes['task.id'] === okTaskId);
    expect(tagged.length).toBeGreaterThan(10);
    expect(new Set(tagged.map((s) => s.traceId))).toEqual(new Set([ok.traceId]));
    const services = new Set(receiver.trace(ok.traceId).map((s) => s.service));
    for (const s of SERVICES) expect(services, `spans from ${s}`).toContain(s);
  });

  it('has a consistent tree: one external root, every other parent present', () => {
    const spans = receiver.trace(ok.traceId);
    const ids = byId(spans);
    expect(ids.size).toBe(spans.length);
    const orphans = spans.filter((s) => s.parentSpanId !== ok.spanId && !ids.has(s.parentSpanId));
    expect(orphans.map((s) => `${s.service}: ${s.name} -> ${s.parentSpanId || '(none)'}`)).toEqual([]);
    const top = spans.filter((s) => s.parentSpanId === ok.spanId);
    expect(top.map((s) => [s.service, s.kind, s.attributes['messaging.system']])).toEqual([['ragline-bridge', SPAN_KIND.consumer, 'redis']]);
    for (const s of spans) expect(s.endNs >= s.startNs, `${s.name} ends after it starts`).toBe(true);
  });

  it('pairs every send with a process span per hop, with queue wait', () => {
    const spans = receiver.trace(ok.traceId);
    const subjects = env.names.subjects;
    const hops: [string, string, string][] = [
      [subjects.tasks, 'ragline-bridge', 'ragline-parser'],
      [subjects.enrich, 'ragline-parser', 'ragline-enricher'],
      [subjects.chunks, 'ragline-enricher', 'ragline-embedder'],
      [subjects.manifest, 'ragline-parser', 'ragline-indexer'],
      [subjects.embedded, 'ragline-embedder', 'ragline-indexer'],
      [subjects.progress, 'ragline-parser', 'ragline-monitor'],
      [subjects.batchIndexed, 'ragline-indexer', 'ragline-monitor'],
      [subjects.completed, 'ragline-indexer', 'ragline-monitor'],
    ];
    for (const [subject, producer, consumer] of hops) {
      const sends = spans.filter((s) => s.name === `send ${subject}` && s.service === producer);
      expect(sends.length, `send ${subject}`).toBeGreaterThan(0);
      for (const send of sends) {
        expect(send.kind).toBe(SPAN_KIND.producer);
        expect(send.attributes).toMatchObject({
          'messaging.system': 'nats',
          'messaging.destination.name': subject,
          'messaging.operation.name': 'send',
          'messaging.operation.type': 'send',
          'task.id': okTaskId,
        });
        expect(typeof send.attributes['messaging.message.id']).toBe('string');
        // a duplicate (redelivered parse) is dropped by JetStream dedupe and never processed
        if (send.attributes['ragline.duplicate'] === true) continue;
        const processed = spans.filter((s) => s.parentSpanId === send.spanId && s.name === `process ${subject}`);
        expect(processed.length, `process ${subject} under its send`).toBeGreaterThan(0);
        for (const p of processed) {
          expect(p.service).toBe(consumer);
          expect(p.kind).toBe(SPAN_KIND.consumer);
          expect(p.startNs >= send.startNs).toBe(true);
          expect(p.attributes['ragline.queue_wait_ms']).toBeGreaterThanOrEqual(0);
          expect(p.attributes['task.id']).toBe(okTaskId);
        }
      }
    }
    // a multi-batch document: several chunk batches, each its own hop
    expect(spans.filter((s) => s.name === `send ${subjects.chunks}`).length).toBeGreaterThan(1);
  });

  it('links the monitor batch spans (their own traces) to the task messages they applied', () => {
    const sendIds = new Set(receiver.trace(ok.traceId).filter((s) => s.name.startsWith('send ')).map((s) => s.spanId));
    const batches = receiver.spans.filter(
      (s) => s.service === 'ragline-monitor' && s.name === `process ${env.names.streams.events}` && s.links.some((l) => l.traceId === ok.traceId),
    );
    expect(batches.length).toBeGreaterThan(0);
    for (const b of batches) {
      expect(b.traceId).not.toBe(ok.traceId);
      expect(b.attributes['messaging.batch.message_count']).toBe(b.links.length);
      for (const l of b.links.filter((x) => x.traceId === ok.traceId)) expect(sendIds.has(l.spanId)).toBe(true);
    }
  });

  it('logs of the task carry its trace id (or, in the monitor, the batch trace linked to it)', () => {
    const linkedBatchTraces = new Set(receiver.spans.filter((s) => s.links.some((l) => l.traceId === ok.traceId)).map((s) => s.traceId));
    const lines = env.logs
      .flatMap((l): { app: string; fields: Record<string, unknown> }[] => {
        try {
          return [{ app: l.app, fields: JSON.parse(l.line) as Record<string, unknown> }];
        } catch {
          return [];
        }
      })
      .filter((l) => l.fields.task_id === okTaskId && l.fields.trace_id);
    expect(lines.map((l) => l.app)).toEqual(expect.arrayContaining(['ingest-bridge.0', 'parser.0', 'indexer.0']));
    for (const { app, fields } of lines) {
      const where = `${app}: ${String(fields.msg)}`;
      if (app === 'monitor.0') expect(linkedBatchTraces.has(String(fields.trace_id)), where).toBe(true);
      else expect(fields.trace_id, where).toBe(ok.traceId);
    }
  });

  it('a failing task has an ERROR span with the exception, and its dead letter stays in the trace', () => {
    const spans = receiver.trace(failing.traceId);
    const tagged = receiver.spans.filter((s) => s.attributes['task.id'] === failingTaskId);
    expect(new Set(tagged.map((s) => s.traceId))).toEqual(new Set([failing.traceId]));
    const errors = spans.filter((s) => s.status.code === STATUS_ERROR);
    expect(errors.length).toBeGreaterThan(0);
    const parserProcess = errors.find((s) => s.service === 'ragline-parser' && s.name === `process ${env.names.subjects.tasks}`);
    expect(parserProcess, 'parser process span is ERROR').toBeDefined();
    const exception = errors.flatMap((s) => s.events).find((e) => e.name === 'exception');
    expect(String(exception?.attributes['exception.message'])).toMatch(/not found/i);

    const dlqSubject = env.names.subjects.dlq('parser');
    const dlqSend = spans.find((s) => s.name === `send ${dlqSubject}`);
    expect(dlqSend, 'dead letter sent in the task trace').toBeDefined();
    const applied = spans.find((s) => s.service === 'ragline-monitor' && s.parentSpanId === dlqSend!.spanId);
    expect(applied?.name).toBe(`process ${dlqSubject}`);
    const ids = byId(spans);
    expect(spans.filter((s) => s.parentSpanId !== failing.spanId && !ids.has(s.parentSpanId))).toEqual([]);
  });
});
