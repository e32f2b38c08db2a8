import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  ROOT_CONTEXT,
  SpanStatusCode,
  extractTraceContext,
  injectTraceContext,
  taskAttributes,
  trace,
  withSpan,
  type Telemetry,
  startTelemetry,
} from '../src/index.js';

const exporter = new InMemorySpanExporter();
let telemetry: Telemetry;
beforeAll(() => {
  telemetry = startTelemetry({ serviceName: 't', env: {}, spanProcessors: [new SimpleSpanProcessor(exporter)] });
});
beforeEach(() => exporter.reset());
afterAll(() => telemetry.shutdown());

const finished = (name: string) => exporter.getFinishedSpans().filter((s) => s.name === name);

describe('injectTraceContext / extractTraceContext', () => {
  it('round-trips the active span through a plain header map as a remote parent', () => {
    const headers: Record<string, string> = {};
    const sent = telemetry.tracer.startActiveSpan('publish', (span) => {
      injectTraceContext((k, v) => (headers[k] = v));
      span.end();
      return span.spanContext();
    });
    expect(headers.traceparent).toBe(`00-${sent.traceId}-${sent.spanId}-01`);

    const ctx = extractTraceContext((k) => headers[k], ROOT_CONTEXT);
    const received = trace.getSpanContext(ctx);
    expect(received).toMatchObject({ traceId: sent.traceId, spanId: sent.spanId, isRemote: true });

    const child = telemetry.tracer.startSpan('consume', {}, ctx);
    child.end();
    const [span] = finished('consume');
    expect(span!.spanContext().traceId).toBe(sent.traceId);
    expect(span!.parentSpanContext).toMatchObject({ spanId: sent.spanId, isRemote: true });
  });

  it('gives a context without a span when the headers carry none', () => {
    const ctx = extractTraceContext(() => undefined, ROOT_CONTEXT);
    expect(trace.getSpanContext(ctx)).toBeUndefined();
    const malformed = extractTraceContext((k) => (k === 'traceparent' ? 'not-a-traceparent' : undefined), ROOT_CONTEXT);
    expect(trace.getSpanContext(malformed)).toBeUndefined();
  });
});

describe('withSpan', () => {
  it('returns the result, ends the span and keeps it active inside fn', async () => {
    const result = await withSpan(telemetry.tracer, 'ok-work', { attributes: taskAttributes({ task_id: 't1', doc_id: 'd1', kb_id: 'k1', tenant_id: 'n1' }) }, async (span) => {
      expect(trace.getActiveSpan()).toBe(span);
      return 42;
    });
    expect(result).toBe(42);
    const [span] = finished('ok-work');
    expect(span!.status.code).toBe(SpanStatusCode.UNSET);
    expect(span!.attributes).toMatchObject({ 'task.id': 't1', 'doc.id': 'd1', 'kb.id': 'k1', 'tenant.id': 'n1' });
  });

  it('records the exception and sets ERROR status when fn throws, and rethrows', async () => {
    const boom = new Error('parser exploded');
    await expect(
      withSpan(telemetry.tracer, 'bad-work', {}, async () => {
        throw boom;
      }),
    ).rejects.toBe(boom);
    const [span] = finished('bad-work');
    expect(span!.status).toEqual({ code: SpanStatusCode.ERROR, message: 'parser exploded' });
    const exception = span!.events.find((e) => e.name === 'exception');
    expect(exception?.attributes).toMatchObject({ 'exception.message': 'parser exploded', 'exception.type': 'Error' });
  });

  it('records non-Error throws too', async () => {
    await expect(withSpan(telemetry.tracer, 'string-throw', {}, () => Promise.reject('plain string'))).rejects.toBe('plain string');
    expect(finished('string-throw')[0]!.status).toEqual({ code: SpanStatusCode.ERROR, message: 'plain string' });
  });

  it('uses the given parent context instead of the active one', async () => {
    const parent = extractTraceContext((k) => (k === 'traceparent' ? '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' : undefined), ROOT_CONTEXT);
    await telemetry.tracer.startActiveSpan('unrelated-active', async (active) => {
      await withSpan(telemetry.tracer, 'child-of-remote', { parent }, async () => undefined);
      active.end();
    });
    const [span] = finished('child-of-remote');
    expect(span!.spanContext().traceId).toBe('0af7651916cd43dd8448eb211c80319c');
    expect(span!.parentSpanContext?.spanId).toBe('b7ad6b7169203331');
  });
});
