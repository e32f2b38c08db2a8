import { describe, expect, it } from 'vitest';
import {
  InMemorySpanExporter,
  ROOT_CONTEXT,
  SimpleSpanProcessor,
  TelemetryConfigError,
  batchConfigFromEnv,
  extractTraceContext,
  injectTraceContext,
  otlpProtocol,
  otlpTracesUrl,
  queueWaitMs,
  samplerFromEnv,
  startTelemetry,
  trace,
} from '../src/index.js';

/** A remote caller's context with the given sampled flag. */
const traceparent = (traceId: string, sampled: boolean) => `00-${traceId}-b7ad6b7169203331-0${sampled ? 1 : 0}`;
const parentCtx = (traceId: string, sampled: boolean) =>
  extractTraceContext((k) => (k === 'traceparent' ? traceparent(traceId, sampled) : undefined), ROOT_CONTEXT);

describe('samplerFromEnv', () => {
  it('names each spec sampler and reads the ratio', () => {
    expect(samplerFromEnv({}).toString()).toMatch(/^ParentBased\{root=AlwaysOnSampler/);
    expect(samplerFromEnv({ OTEL_TRACES_SAMPLER: 'always_off' }).toString()).toBe('AlwaysOffSampler');
    expect(samplerFromEnv({ OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.25' }).toString()).toBe('SampledLinks{TraceIdRatioBased{0.25}}');
    expect(samplerFromEnv({ OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.1' }).toString()).toMatch(
      /^ParentBased\{root=SampledLinks\{TraceIdRatioBased\{0.1\}\}/,
    );
  });

  it('refuses values it cannot honour instead of silently sampling everything', () => {
    expect(() => samplerFromEnv({ OTEL_TRACES_SAMPLER: 'jaeger_remote' })).toThrow(TelemetryConfigError);
    expect(() => samplerFromEnv({ OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '1.5' })).toThrow(/\[0, 1\]/);
    expect(() => samplerFromEnv({ OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: 'half' })).toThrow(TelemetryConfigError);
  });

  it('parentbased_traceidratio: roots sampled by ratio, children follow the caller', async () => {
    const exporter = new InMemorySpanExporter();
    const t = startTelemetry({
      serviceName: 's',
      env: { OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0' },
      spanProcessors: [new SimpleSpanProcessor(exporter)],
    });
    expect(t.sampler).toMatch(/TraceIdRatioBased\{0\}/);
    // ratio 0: a new root is dropped, but its context still travels (unsampled) so logs keep trace ids
    const headers: Record<string, string> = {};
    const root = t.tracer.startSpan('root');
    injectTraceContext((k, v) => (headers[k] = v), trace.setSpan(ROOT_CONTEXT, root));
    root.end();
    expect(root.isRecording()).toBe(false);
    expect(headers.traceparent).toMatch(/-00$/);
    // a sampled caller keeps the trace whatever the ratio; an unsampled caller drops it
    t.tracer.startSpan('child-of-sampled', {}, parentCtx('0af7651916cd43dd8448eb211c80319c', true)).end();
    t.tracer.startSpan('child-of-unsampled', {}, parentCtx('0af7651916cd43dd8448eb211c80319d', false)).end();
    // a batch root linked to a sampled message is kept; linked only to unsampled ones it is dropped
    const sampledLink = trace.getSpanContext(parentCtx('0af7651916cd43dd8448eb211c80319e', true))!;
    const unsampledLink = trace.getSpanContext(parentCtx('0af7651916cd43dd8448eb211c80319f', false))!;
    t.tracer.startSpan('batch-with-sampled', { links: [{ context: unsampledLink }, { context: sampledLink }] }, ROOT_CONTEXT).end();
    t.tracer.startSpan('batch-unsampled', { links: [{ context: unsampledLink }] }, ROOT_CONTEXT).end();
    expect(exporter.getFinishedSpans().map((s) => s.name)).toEqual(['child-of-sampled', 'batch-with-sampled']);
    await t.shutdown();
  });

  it('ratio 1 keeps every root', async () => {
    const exporter = new InMemorySpanExporter();
    const t = startTelemetry({
      serviceName: 's',
      env: { OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '1' },
      spanProcessors: [new SimpleSpanProcessor(exporter)],
    });
    for (let i = 0; i < 20; i++) t.tracer.startSpan(`r${i}`).end();
    expect(exporter.getFinishedSpans()).toHaveLength(20);
    await t.shutdown();
  });
});

describe('OTLP settings from env', () => {
  it('appends /v1/traces to the generic endpoint for HTTP only, keeps the traces endpoint as given', () => {
    expect(otlpTracesUrl({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' })).toBe('http://collector:4318/v1/traces');
    expect(otlpTracesUrl({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4317', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' })).toBe('http://collector:4317');
    expect(
      otlpTracesUrl({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:4318', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://b:9999/custom' }),
    ).toBe('http://b:9999/custom');
    expect(otlpTracesUrl({})).toBeUndefined();
  });

  it('reads the protocol, signal-specific first', () => {
    expect(otlpProtocol({})).toBe('http/protobuf');
    expect(otlpProtocol({ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' })).toBe('http/json');
    expect(otlpProtocol({ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'grpc' })).toBe('grpc');
    expect(() => otlpProtocol({ OTEL_EXPORTER_OTLP_PROTOCOL: 'thrift' })).toThrow(TelemetryConfigError);
  });

  it('reads OTEL_BSP_* from the given env', () => {
    expect(batchConfigFromEnv({ OTEL_BSP_SCHEDULE_DELAY: '200', OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '64' })).toEqual({
      scheduledDelayMillis: 200,
      maxExportBatchSize: 64,
    });
    expect(batchConfigFromEnv({})).toEqual({});
    expect(() => batchConfigFromEnv({ OTEL_BSP_SCHEDULE_DELAY: 'soon' })).toThrow(TelemetryConfigError);
  });
});

describe('queueWaitMs', () => {
  it('is the time since the publish header, never negative, undefined without a usable header', () => {
    expect(queueWaitMs('1000', 1750)).toBe(750);
    expect(queueWaitMs('2000', 1750)).toBe(0);
    expect(queueWaitMs(undefined, 1750)).toBeUndefined();
    expect(queueWaitMs('yesterday', 1750)).toBeUndefined();
  });
});
