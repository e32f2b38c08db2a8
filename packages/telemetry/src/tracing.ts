import {
  context,
  propagation,
  trace,
  SpanStatusCode,
  type Attributes,
  type Context,
  type Span,
  type SpanOptions,
  type Tracer,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter as OtlpGrpcExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as OtlpJsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OtlpProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BatchSpanProcessor,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';

export { SpanKind, SpanStatusCode, ROOT_CONTEXT, context, trace, propagation } from '@opentelemetry/api';
export type { Span, Context, Attributes, Link, Tracer } from '@opentelemetry/api';

export interface TelemetryOptions {
  serviceName: string;
  serviceVersion?: string;
  /** extra processors (tests use an in-memory exporter) */
  spanProcessors?: SpanProcessor[];
  env?: NodeJS.ProcessEnv;
}

export interface Telemetry {
  readonly exporting: boolean;
  tracer: Tracer;
  /** flushes pending spans; call on SIGTERM */
  shutdown(): Promise<void>;
}

function exporterFromEnv(env: NodeJS.ProcessEnv): SpanExporter | undefined {
  const endpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? env.OTEL_EXPORTER_OTLP_ENDPOINT;
  const kind = env.OTEL_TRACES_EXPORTER;
  if (kind === 'none' || (!endpoint && kind !== 'otlp')) return undefined;
  const protocol = env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? env.OTEL_EXPORTER_OTLP_PROTOCOL ?? 'http/protobuf';
  if (protocol === 'grpc') return new OtlpGrpcExporter();
  if (protocol === 'http/json') return new OtlpJsonExporter();
  return new OtlpProtoExporter();
}

/**
 * Starts tracing for one process. Spans are always created (so trace ids reach logs and downstream
 * stages); they are exported over OTLP only when the standard OTEL_* variables ask for it.
 */
export function startTelemetry(opts: TelemetryOptions): Telemetry {
  const env = opts.env ?? process.env;
  const exporter = exporterFromEnv(env);
  const processors: SpanProcessor[] = [...(opts.spanProcessors ?? [])];
  if (exporter) processors.push(new BatchSpanProcessor(exporter));
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({
      [ATTR_SERVICE_NAME]: env.OTEL_SERVICE_NAME ?? opts.serviceName,
      [ATTR_SERVICE_VERSION]: opts.serviceVersion ?? '0.1.0',
    }),
    spanProcessors: processors,
  });
  provider.register({ propagator: new W3CTraceContextPropagator() });
  return {
    exporting: exporter !== undefined,
    // from this provider, not the global one: a second startTelemetry in one process cannot register
    // globally, and its spans would otherwise go to the first (possibly shut down) provider
    tracer: provider.getTracer(opts.serviceName, opts.serviceVersion),
    async shutdown() {
      await provider.forceFlush().catch(() => undefined);
      await provider.shutdown().catch(() => undefined);
    },
  };
}

/** Writes the active (or given) context as W3C headers through `set`. */
export function injectTraceContext(set: (key: string, value: string) => void, ctx: Context = context.active()): void {
  propagation.inject(ctx, {}, {
    set: (_carrier, key, value) => set(key, value),
  });
}

/** Reads W3C trace headers through `get` into a context (the root context when absent). */
export function extractTraceContext(get: (key: string) => string | undefined, base: Context = context.active()): Context {
  return propagation.extract(base, {}, {
    get: (_carrier, key) => get(key),
    keys: () => ['traceparent', 'tracestate'],
  });
}

/** Runs `fn` in a new active span, recording an exception and ERROR status when it throws. */
export async function withSpan<T>(
  tracer: Tracer,
  name: string,
  options: SpanOptions & { parent?: Context },
  fn: (span: Span) => Promise<T>,
): Promise<T> {
  const parent = options.parent ?? context.active();
  return tracer.startActiveSpan(name, options, parent, async (span) => {
    try {
      return await fn(span);
    } catch (err) {
      recordError(span, err);
      throw err;
    } finally {
      span.end();
    }
  });
}

export function recordError(span: Span, err: unknown): void {
  const e = err instanceof Error ? err : new Error(String(err));
  span.recordException(e);
  span.setStatus({ code: SpanStatusCode.ERROR, message: e.message });
}

/** Standard attribute names used across stages (issue 7 builds on these). */
export const ATTR = {
  taskId: 'task.id',
  docId: 'doc.id',
  kbId: 'kb.id',
  tenantId: 'tenant.id',
  batchNo: 'ragline.batch.number',
  chunkCount: 'ragline.chunk.count',
  tokenCount: 'ragline.token.count',
  model: 'ragline.embedding.model',
  pageFrom: 'ragline.page.from',
  pageTo: 'ragline.page.to',
} as const;

export function taskAttributes(t: { task_id: string; doc_id: string; kb_id: string; tenant_id: string }): Attributes {
  return { [ATTR.taskId]: t.task_id, [ATTR.docId]: t.doc_id, [ATTR.kbId]: t.kb_id, [ATTR.tenantId]: t.tenant_id };
}
