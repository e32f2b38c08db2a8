import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, redactSecrets, startTelemetry, type Telemetry } from '../src/index.js';

/** A pino destination that keeps every line, parsed. */
function collector() {
  const lines: Record<string, unknown>[] = [];
  return { lines, destination: { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) } };
}

let telemetry: Telemetry;
beforeAll(() => {
  // registers the global context manager that trace.getActiveSpan() (the logger mixin) reads
  telemetry = startTelemetry({ serviceName: 't', env: {}, spanProcessors: [new SimpleSpanProcessor(new InMemorySpanExporter())] });
});
afterAll(() => telemetry.shutdown());

describe('createLogger', () => {
  it('writes one JSON line per call with service, base fields and the level as a label', () => {
    const { lines, destination } = collector();
    const log = createLogger({ service: 'parser', level: 'info', base: { stage: 'parse' }, destination });
    log.info({ doc: 'd1' }, 'hello');
    log.debug('dropped below the level');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ service: 'parser', stage: 'parse', level: 'info', doc: 'd1', msg: 'hello', pid: process.pid });
    expect(typeof lines[0]!.time).toBe('string');
    expect(new Date(lines[0]!.time as string).toISOString()).toBe(lines[0]!.time);
    expect(lines[0]).not.toHaveProperty('trace_id');
  });

  it('adds trace_id and span_id of the active span', () => {
    const { lines, destination } = collector();
    const log = createLogger({ service: 'parser', destination });
    const ids = telemetry.tracer.startActiveSpan('work', (span) => {
      log.warn('inside');
      span.end();
      return span.spanContext();
    });
    log.warn('outside');
    expect(ids.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(lines[0]).toMatchObject({ level: 'warn', trace_id: ids.traceId, span_id: ids.spanId });
    expect(lines[1]).not.toHaveProperty('trace_id');
    expect(lines[1]).not.toHaveProperty('span_id');
  });

  it('redacts secret keys at the top level and nested', () => {
    const { lines, destination } = collector();
    const log = createLogger({ service: 's', destination });
    log.info({
      password: 'hunter2',
      user: 'alice',
      embedding: { apiKey: 'sk-live-123', model: 'bge' },
      req: { headers: { authorization: 'Bearer abc', accept: 'json' } },
    });
    const line = lines[0]!;
    expect(line.password).toBe('[redacted]');
    expect(line.user).toBe('alice');
    expect(line.embedding).toEqual({ apiKey: '[redacted]', model: 'bge' });
    expect(line.req).toEqual({ headers: { authorization: '[redacted]', accept: 'json' } });
    const raw = JSON.stringify(line);
    for (const secret of ['hunter2', 'sk-live-123', 'Bearer abc']) expect(raw).not.toContain(secret);
  });

  it('scrubs given secret values under any key, in messages and errors, JSON-escaped ones too', () => {
    const { lines, destination } = collector();
    // keys from CHAT_BACKENDS / EMBEDDING_BACKENDS JSON: no key name gives them away
    const log = createLogger({ service: 's', destination, secrets: ['sk-chat-backend-key', 'emb"key\\x', undefined, 'ab'] });
    log.error({ err: new Error('401 from https://llm.local: bad key sk-chat-backend-key'), backends: '{"m":{"apiKey":"sk-chat-backend-key"}}' }, 'call failed with sk-chat-backend-key');
    log.warn({ detail: { body: 'emb"key\\x rejected' }, short: 'ab' }, 'embedding failed');
    expect(lines).toHaveLength(2);
    const [first, second] = lines.map((l) => JSON.stringify(l));
    expect(first).not.toContain('sk-chat-backend-key');
    expect(lines[0]!.msg).toBe('call failed with [redacted]');
    expect((lines[0]!.err as { message: string }).message).toBe('401 from https://llm.local: bad key [redacted]');
    expect(second).not.toContain('emb\\"key');
    expect(lines[1]!.detail).toEqual({ body: '[redacted] rejected' });
    // too short to scrub without mangling ordinary text
    expect(lines[1]!.short).toBe('ab');
  });
});

describe('redactSecrets', () => {
  it('strips the password from URLs and keeps the user and host', () => {
    expect(redactSecrets('connect redis://app:s3cr3t@redis.local:6379/1 failed')).toBe('connect redis://app:[redacted]@redis.local:6379/1 failed');
    expect(redactSecrets('mysql://root:pw@db/rag and nats://u:p@n:4222')).toBe('mysql://root:[redacted]@db/rag and nats://u:[redacted]@n:4222');
    expect(redactSecrets('mysql://root@127.0.0.1:3306/rag_flow')).toBe('mysql://root@127.0.0.1:3306/rag_flow');
  });

  it('strips bearer tokens', () => {
    expect(redactSecrets('401 for Authorization: Bearer eyJhbGci.payload-x_y=')).toBe('401 for Authorization: Bearer [redacted]');
    expect(redactSecrets('bearer abc123 rejected')).toBe('bearer [redacted] rejected');
  });

  it('replaces every occurrence of listed secret values and ignores empty or very short ones', () => {
    expect(redactSecrets('key sk-999 rejected; retry with sk-999', ['sk-999', undefined, ''])).toBe('key [redacted] rejected; retry with [redacted]');
    // two-character "secrets" would shred ordinary text
    expect(redactSecrets('an ordinary message', ['an'])).toBe('an ordinary message');
  });
});
