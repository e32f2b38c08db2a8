import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';

/** A span as received over OTLP/HTTP JSON, flattened for assertions. */
export interface ReceivedSpan {
  service: string;
  traceId: string;
  spanId: string;
  /** empty for a root span */
  parentSpanId: string;
  name: string;
  /** OTLP SpanKind: 1 internal, 2 server, 3 client, 4 producer, 5 consumer */
  kind: number;
  startNs: bigint;
  endNs: bigint;
  attributes: Record<string, unknown>;
  events: { name: string; attributes: Record<string, unknown> }[];
  links: { traceId: string; spanId: string; attributes: Record<string, unknown> }[];
  /** OTLP StatusCode: 0 unset, 1 ok, 2 error */
  status: { code: number; message?: string };
}

export const SPAN_KIND = { internal: 1, server: 2, client: 3, producer: 4, consumer: 5 } as const;
export const STATUS_ERROR = 2;

interface OtlpKeyValue {
  key: string;
  value: OtlpAnyValue;
}
interface OtlpAnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: number | string;
  doubleValue?: number;
  arrayValue?: { values?: OtlpAnyValue[] };
  kvlistValue?: { values?: OtlpKeyValue[] };
  bytesValue?: string;
}

function anyValue(v: OtlpAnyValue): unknown {
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return v.doubleValue;
  if (v.arrayValue) return (v.arrayValue.values ?? []).map(anyValue);
  if (v.kvlistValue) return attributes(v.kvlistValue.values);
  return v.bytesValue;
}

function attributes(kvs: OtlpKeyValue[] | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const kv of kvs ?? []) out[kv.key] = anyValue(kv.value);
  return out;
}

/** OTLP JSON encodes ids as hex; tolerate base64 (the protobuf JSON mapping) too. */
function hexId(id: string | undefined): string {
  if (!id) return '';
  if (/^[0-9a-f]+$/i.test(id) && (id.length === 16 || id.length === 32)) return id.toLowerCase();
  return Buffer.from(id, 'base64').toString('hex');
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of req) parts.push(c as Buffer);
  const raw = Buffer.concat(parts);
  return req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw;
}

/** Flattens one ExportTraceServiceRequest (JSON) into spans. */
export function parseExportRequest(body: unknown): ReceivedSpan[] {
  const out: ReceivedSpan[] = [];
  const req = body as { resourceSpans?: { resource?: { attributes?: OtlpKeyValue[] }; scopeSpans?: { spans?: Record<string, unknown>[] }[] }[] };
  for (const rs of req.resourceSpans ?? []) {
    const service = String(attributes(rs.resource?.attributes)['service.name'] ?? '');
    for (const ss of rs.scopeSpans ?? []) {
      for (const s of ss.spans ?? []) {
        const status = (s.status ?? {}) as { code?: number | string; message?: string };
        out.push({
          service,
          traceId: hexId(s.traceId as string),
          spanId: hexId(s.spanId as string),
          parentSpanId: hexId(s.parentSpanId as string | undefined),
          name: String(s.name),
          kind: Number(s.kind ?? 0),
          startNs: BigInt(String(s.startTimeUnixNano ?? 0)),
          endNs: BigInt(String(s.endTimeUnixNano ?? 0)),
          attributes: attributes(s.attributes as OtlpKeyValue[]),
          events: ((s.events ?? []) as { name: string; attributes?: OtlpKeyValue[] }[]).map((e) => ({ name: e.name, attributes: attributes(e.attributes) })),
          links: ((s.links ?? []) as { traceId: string; spanId: string; attributes?: OtlpKeyValue[] }[]).map((l) => ({
            traceId: hexId(l.traceId),
            spanId: hexId(l.spanId),
            attributes: attributes(l.attributes),
          })),
          status: { code: status.code === 'STATUS_CODE_ERROR' ? STATUS_ERROR : Number(status.code ?? 0), message: status.message },
        });
      }
    }
  }
  return out;
}

/**
 * An OTLP/HTTP trace receiver for tests: `POST /v1/traces` with JSON bodies (exporters set
 * OTEL_EXPORTER_OTLP_PROTOCOL=http/json), on 127.0.0.1 and a free port. Protobuf bodies are refused
 * with 415 so a misconfigured exporter fails loudly instead of silently sending nothing usable.
 */
export async function startOtlpReceiver() {
  const spans: ReceivedSpan[] = [];
  const rejected: string[] = [];
  const server = createServer((req, res) => {
    void (async () => {
      if (req.method !== 'POST' || req.url !== '/v1/traces') {
        res.writeHead(404).end();
        return;
      }
      const type = String(req.headers['content-type'] ?? '');
      const body = await readBody(req);
      if (!type.includes('json')) {
        rejected.push(type);
        res.writeHead(415).end();
        return;
      }
      spans.push(...parseExportRequest(JSON.parse(body.toString('utf8'))));
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    })().catch((e: Error) => {
      rejected.push(e.message);
      if (!res.headersSent) res.writeHead(400).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    /** base URL for OTEL_EXPORTER_OTLP_ENDPOINT (exporters append /v1/traces) */
    url: `http://127.0.0.1:${port}`,
    spans,
    /** content types or parse errors of refused requests */
    rejected,
    trace(traceId: string): ReceivedSpan[] {
      return spans.filter((s) => s.traceId === traceId);
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
export type OtlpReceiver = Awaited<ReturnType<typeof startOtlpReceiver>>;
