import {
  context,
  propagation,
  trace,
  SpanStatusCode,
  TraceFlags,
  type Attributes,
  type Context,
  type Link,
  type SpanKind as SpanKindT,
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
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ParentBasedSampler,
  SamplingDecision,
  TraceIdRatioBasedSampler,
  type BufferConfig,
  type Sampler,
  type SamplingResult,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';

export { SpanKind, SpanStatusCode, ROOT_CONTEXT, context, trace, propagation } from '@opentelemetry/api';
export type { Span, Context, Attributes, Link, Tracer } from '@opentelemetry/api';
// for tests of any package: record spans in memory through TelemetryOptions.spanProcessors
export { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
export type { ReadableSpan, SpanProcessor, Sampler } from '@opentelemetry/sdk-trace-base';

export interface TelemetryOptions {
  serviceName: string;
  serviceVersion?: string;
  /** extra processors (tests use an in-memory exporter) */
  spanProcessors?: SpanProcessor[];
  /** where the OTEL_* variables are read; default process.env */
  env?: NodeJS.ProcessEnv;
}

export interface Telemetry {
  readonly exporting: boolean;
  /** the head sampler in use, e.g. `ParentBased{root=TraceIdRatioBased{0.1}, ...}` */
  readonly sampler: string;
  tracer: Tracer;
  /** flushes pending spans; call on SIGTERM */
  shutdown(): Promise<void>;
}

/** Thrown for OTEL_* values that cannot be honoured (a silently ignored sampler setting would export everything). */
export class TelemetryConfigError extends Error {
  readonly retryable = false;
  constructor(message: string) {
    super(message);
    this.name = 'TelemetryConfigError';
  }
}

function ratioFromEnv(env: NodeJS.ProcessEnv): number {
  const raw = env.OTEL_TRACES_SAMPLER_ARG?.trim();
  if (!raw) return 1;
  const ratio = Number(raw);
  if (!Number.isFinite(ratio) || ratio < 0 || ratio > 1) {
    throw new TelemetryConfigError(`OTEL_TRACES_SAMPLER_ARG must be a number in [0, 1], got "${raw}"`);
  }
  return ratio;
}

/**
 * Samples a new root span whenever one of its links is sampled, otherwise asks `inner`. A batch
 * span (its own root, linked to every message it handles) is then kept whenever it carries a message
 * of a kept trace, so a sampled task never points at a dropped batch.
 */
export class SampledLinksSampler implements Sampler {
  constructor(private readonly inner: Sampler) {}
  shouldSample(ctx: Context, traceId: string, name: string, kind: SpanKindT, attributes: Attributes, links: Link[]): SamplingResult {
    if (links.some((l) => (l.context.traceFlags & TraceFlags.SAMPLED) === TraceFlags.SAMPLED)) {
      return { decision: SamplingDecision.RECORD_AND_SAMPLED };
    }
    return this.inner.shouldSample(ctx, traceId, name, kind, attributes, links);
  }
  toString(): string {
    return `SampledLinks{${this.inner.toString()}}`;
  }
}

/**
 * The head sampler named by OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG (the spec's values); default
 * `parentbased_always_on`. Parent-based samplers follow the caller's sampled flag, so a task's trace
 * is kept or dropped as a whole across every service. For the ratio samplers a new root with a
 * sampled link is kept too (see SampledLinksSampler).
 */
export function samplerFromEnv(env: NodeJS.ProcessEnv = process.env): Sampler {
  const name = (env.OTEL_TRACES_SAMPLER ?? 'parentbased_always_on').trim().toLowerCase();
  switch (name) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return new SampledLinksSampler(new TraceIdRatioBasedSampler(ratioFromEnv(env)));
    case 'parentbased_always_on':
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: new SampledLinksSampler(new TraceIdRatioBasedSampler(ratioFromEnv(env))) });
    default:
      throw new TelemetryConfigError(`OTEL_TRACES_SAMPLER "${name}" is not supported`);
  }
}

/** The OTLP protocol for traces: OTEL_EXPORTER_OTLP_TRACES_PROTOCOL, else OTEL_EXPORTER_OTLP_PROTOCOL, default http/protobuf. */
export function otlpProtocol(env: NodeJS.ProcessEnv): 'grpc' | 'http/json' | 'http/protobuf' {
  const p = (env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? env.OTEL_EXPORTER_OTLP_PROTOCOL ?? 'http/protobuf').trim();
  if (p === 'grpc' || p === 'http/json' || p === 'http/protobuf') return p;
  throw new TelemetryConfigError(`OTLP protocol "${p}" is not one of grpc, http/protobuf, http/json`);
}

/**
 * The traces URL per the spec: the signal-specific endpoint as given; the generic one gets
 * `/v1/traces` appended for HTTP and is used as is for gRPC. Undefined lets the exporter default.
 */
export function otlpTracesUrl(env: NodeJS.ProcessEnv): string | undefined {
  const specific = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim();
  if (specific) return specific;
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  if (!base) return undefined;
  if (otlpProtocol(env) === 'grpc') return base;
  return `${base.replace(/\/+$/, '')}/v1/traces`;
}

function exporterFromEnv(env: NodeJS.ProcessEnv): SpanExporter | undefined {
  const endpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? env.OTEL_EXPORTER_OTLP_ENDPOINT;
  const kind = env.OTEL_TRACES_EXPORTER;
  if (kind === 'none' || (!endpoint && kind !== 'otlp')) return undefined;
  const url = otlpTracesUrl(env);
  const config = url ? { url } : {};
  const protocol = otlpProtocol(env);
  if (protocol === 'grpc') return new OtlpGrpcExporter(config);
  if (protocol === 'http/json') return new OtlpJsonExporter(config);
  return new OtlpProtoExporter(config);
}

function intFromEnv(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const raw = env[name]?.trim();
  if (!raw) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new TelemetryConfigError(`${name} must be a non-negative integer, got "${raw}"`);
  return n;
}

/** OTEL_BSP_* batch processor settings read from `env` (the SDK itself would only read process.env). */
export function batchConfigFromEnv(env: NodeJS.ProcessEnv): BufferConfig {
  const cfg: BufferConfig = {};
  const map: [keyof BufferConfig, string][] = [
    ['scheduledDelayMillis', 'OTEL_BSP_SCHEDULE_DELAY'],
    ['exportTimeoutMillis', 'OTEL_BSP_EXPORT_TIMEOUT'],
    ['maxQueueSize', 'OTEL_BSP_MAX_QUEUE_SIZE'],
    ['maxExportBatchSize', 'OTEL_BSP_MAX_EXPORT_BATCH_SIZE'],
  ];
  for (const [key, name] of map) {
    const v = intFromEnv(env, name);
    if (v !== undefined) cfg[key] = v;
  }
  return cfg;
}

/**
 * Starts tracing for one process. Spans are always created (so trace ids reach logs and downstream
 * stages); they are exported over OTLP only when the standard OTEL_* variables ask for it. The
 * sampler, exporter endpoint and batch settings all come from `env`.
 */
export function startTelemetry(opts: TelemetryOptions): Telemetry {
  const env = opts.env ?? process.env;
  const exporter = exporterFromEnv(env);
  const sampler = samplerFromEnv(env);
  const processors: SpanProcessor[] = [...(opts.spanProcessors ?? [])];
  if (exporter) processors.push(new BatchSpanProcessor(exporter, batchConfigFromEnv(env)));
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({
      [ATTR_SERVICE_NAME]: env.OTEL_SERVICE_NAME ?? opts.serviceName,
      [ATTR_SERVICE_VERSION]: opts.serviceVersion ?? '0.1.0',
    }),
    sampler,
    spanProcessors: processors,
  });
  provider.register({ propagator: new W3CTraceContextPropagator() });
  return {
    exporting: exporter !== undefined,
    sampler: sampler.toString(),
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
  batchSize: 'ragline.batch.size',
  bytes: 'ragline.object.bytes',
  retryCount: 'ragline.task.retry_count',
} as const;

export function taskAttributes(t: { task_id: string; doc_id: string; kb_id: string; tenant_id: string }): Attributes {
  return { [ATTR.taskId]: t.task_id, [ATTR.docId]: t.doc_id, [ATTR.kbId]: t.kb_id, [ATTR.tenantId]: t.tenant_id };
}
