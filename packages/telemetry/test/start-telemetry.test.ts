import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { describe, expect, it } from 'vitest';
import { startTelemetry } from '../src/index.js';

describe('startTelemetry', () => {
  it('exports only when the OTEL_* variables ask for it', async () => {
    const cases: [NodeJS.ProcessEnv, boolean][] = [
      [{}, false],
      [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:1' }, true],
      [{ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://127.0.0.1:1/v1/traces' }, true],
      [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:1', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }, true],
      [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:1', OTEL_TRACES_EXPORTER: 'none' }, false],
      [{ OTEL_TRACES_EXPORTER: 'none' }, false],
    ];
    for (const [env, exporting] of cases) {
      const t = startTelemetry({ serviceName: 't', env });
      expect(t.exporting, JSON.stringify(env)).toBe(exporting);
      // nothing was recorded, so flushing towards the closed port 1 must not hang or throw
      await expect(t.shutdown()).resolves.toBeUndefined();
    }
  });

  it('names the resource after OTEL_SERVICE_NAME when set, and each instance traces into its own processors', async () => {
    const first = new InMemorySpanExporter();
    const second = new InMemorySpanExporter();
    const a = startTelemetry({ serviceName: 'a', env: {}, spanProcessors: [new SimpleSpanProcessor(first)] });
    const b = startTelemetry({ serviceName: 'b', env: { OTEL_SERVICE_NAME: 'renamed' }, spanProcessors: [new SimpleSpanProcessor(second)] });
    a.tracer.startSpan('from-a').end();
    b.tracer.startSpan('from-b').end();
    expect(first.getFinishedSpans().map((s) => s.name)).toEqual(['from-a']);
    expect(second.getFinishedSpans().map((s) => s.name)).toEqual(['from-b']);
    expect(first.getFinishedSpans()[0]!.resource.attributes['service.name']).toBe('a');
    expect(second.getFinishedSpans()[0]!.resource.attributes['service.name']).toBe('renamed');
    await a.shutdown();
    await b.shutdown();
  });
});
