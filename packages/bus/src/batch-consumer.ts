import { setTimeout as sleep } from 'node:timers/promises';
import { jetstream, type Consumer, type JsMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { HEADERS, decode, type Stage } from '@ragline/contracts';
import {
  MSG_ATTR,
  ROOT_CONTEXT,
  SpanKind,
  context,
  extractTraceContext,
  messagingAttributes,
  queueWaitMs,
  recordError,
  trace,
  type Context,
  type Link,
  type Logger,
  type Span,
  type Tracer,
} from '@ragline/telemetry';
import type { z } from 'zod';
import { errorInfo, isRetryable } from './errors.js';
import { durableConsumerWhenReady } from './consumer-handle.js';
import { headerRecord, publishDeadLetter } from './dead-letter.js';
import { BUS_TRACER_NAME, PUBLISHED_AT_HEADER, Publisher } from './publish.js';

export interface BatchItem<T> {
  msg: T;
  subject: string;
  streamSeq: number;
  headers: Record<string, string[]>;
  /**
   * the trace context the message carries (its `send` span), for spans about this one message;
   * always set by runBatchConsumer, optional so hand-built items (tests) may leave it out
   */
  traceContext?: Context;
  /** 1 on first delivery; optional so hand-built items (tests) may leave it out */
  deliveryCount?: number;
  /** true on the last delivery before the message would be dead-lettered */
  lastAttempt?: boolean;
}

/**
 * What a batch handler may ask for besides "all applied": items it could not apply yet (they wait
 * for something still in flight) are redelivered after `delayMs`, the rest are acknowledged.
 */
export interface BatchOutcome<T> {
  later: BatchItem<T>[];
  delayMs?: number;
}

export interface BatchConsumerOptions<S extends z.ZodType> {
  nc: NatsConnection;
  stream: string;
  consumer: string;
  stage: Stage;
  schema: S;
  /** most messages handed to one handler call; default 256 */
  maxBatch?: number;
  /** how long a fetch waits to fill a batch; default 250 ms (bounds write latency) */
  maxWaitMs?: number;
  handler: (items: BatchItem<z.output<S>>[]) => Promise<void | BatchOutcome<z.output<S>>>;
  /**
   * where messages that fail their contract or exhaust their deliveries go; null for a consumer of the
   * dead-letter stream itself: such messages are logged and terminated (the stream keeps them)
   */
  dlqSubject: string | null;
  maxDeliver?: number;
  logger: Logger;
  /** tracer for the batch and per-message spans; default the global provider's `@ragline/bus` tracer */
  tracer?: Tracer;
  /**
   * Also record one short `process <subject>` span per message, parented on the message's context
   * and linked to the batch span, so each task's own trace shows its events being applied (progress,
   * completion, dead letter). Default true; false leaves only the linked batch span.
   */
  messageSpans?: boolean;
  /** hook to pause fetching while a dependency is down (see DependencyGate) */
  canPull?: () => boolean | Promise<boolean>;
}

/** A fetched message with its carried context and (when enabled) its own span. */
interface Fetched {
  m: JsMsg;
  traceContext: Context;
  span?: Span;
}

/**
 * Pulls messages in batches and hands them to one handler call, so a writer (the monitor's MySQL
 * progress writer) does one transaction per batch instead of one per event.
 *
 * Tracing follows the messaging conventions for batches: one CONSUMER `process <stream>` span per
 * batch, a new root linked to every message's context (a span has one parent, links are how a batch
 * relates to many traces), with `messaging.batch.message_count`. The handler runs inside it.
 */
export function runBatchConsumer<S extends z.ZodType>(opts: BatchConsumerOptions<S>) {
  const js = jetstream(opts.nc);
  const tracer = opts.tracer ?? trace.getTracer(BUS_TRACER_NAME);
  const publisher = new Publisher(opts.nc, { tracer });
  const maxDeliver = opts.maxDeliver ?? 5;
  const messageSpans = opts.messageSpans ?? true;
  const log = opts.logger.child({ stage: opts.stage, consumer: opts.consumer });
  const stats = { batches: 0, done: 0, failed: 0, deadLettered: 0 };
  let stopping = false;

  async function deadLetter(f: Fetched, err: unknown): Promise<void> {
    if (opts.dlqSubject === null) {
      const info = errorInfo(err);
      log.error(
        { subject: f.m.subject, stream_seq: f.m.info.streamSequence, msg_id: f.m.headers?.get('Nats-Msg-Id') || undefined, deliveries: f.m.info.deliveryCount, err: info },
        'unprocessable message dropped',
      );
      f.span?.addEvent('dropped', { 'error.message': info.message });
      stats.deadLettered++;
      f.m.term();
      return;
    }
    const dl = await publishDeadLetter(publisher, f.m, err, {
      stage: opts.stage,
      stream: opts.stream,
      dlqSubject: opts.dlqSubject,
      // the dead letter continues the message's own trace (through its span when there is one)
      traceContext: f.span ? trace.setSpan(f.traceContext, f.span) : f.traceContext,
    });
    stats.deadLettered++;
    f.span?.addEvent('dead_lettered', { 'error.message': dl.error.message });
    f.m.term();
  }

  function startMessageSpan(m: JsMsg, parent: Context, batchSpan: Span, startedAt: number): Span {
    const taskId = m.headers?.get(HEADERS.taskId) || undefined;
    const wait = queueWaitMs(m.headers?.get(PUBLISHED_AT_HEADER), startedAt);
    return tracer.startSpan(
      `process ${m.subject}`,
      {
        kind: SpanKind.CONSUMER,
        startTime: startedAt,
        links: [{ context: batchSpan.spanContext() }],
        attributes: {
          ...messagingAttributes('process', m.subject),
          [MSG_ATTR.consumerGroup]: opts.consumer,
          [MSG_ATTR.messageId]: m.headers?.get('Nats-Msg-Id') || String(m.info.streamSequence),
          [MSG_ATTR.bodySize]: m.data.byteLength,
          [MSG_ATTR.deliveryCount]: m.info.deliveryCount,
          ...(wait !== undefined ? { [MSG_ATTR.queueWaitMs]: wait } : {}),
          ...(taskId ? { 'task.id': taskId } : {}),
        },
      },
      parent,
    );
  }

  async function processBatch(msgs: JsMsg[]): Promise<void> {
    const startedAt = Date.now();
    const fetched: Fetched[] = msgs.map((m) => ({ m, traceContext: extractTraceContext((k) => m.headers?.get(k) || undefined, ROOT_CONTEXT) }));
    const links: Link[] = [];
    for (const f of fetched) {
      const sc = trace.getSpanContext(f.traceContext);
      if (sc) links.push({ context: sc, attributes: { [MSG_ATTR.messageId]: f.m.headers?.get('Nats-Msg-Id') || String(f.m.info.streamSequence) } });
    }
    const batchSpan = tracer.startSpan(
      `process ${opts.stream}`,
      {
        kind: SpanKind.CONSUMER,
        startTime: startedAt,
        links,
        attributes: {
          ...messagingAttributes('process'),
          [MSG_ATTR.consumerGroup]: opts.consumer,
          [MSG_ATTR.batchCount]: msgs.length,
          'ragline.stream': opts.stream,
        },
      },
      ROOT_CONTEXT,
    );
    const batchContext = trace.setSpan(ROOT_CONTEXT, batchSpan);
    if (messageSpans) for (const f of fetched) f.span = startMessageSpan(f.m, f.traceContext, batchSpan, startedAt);
    try {
      await context.with(batchContext, () => settleBatch(fetched));
    } finally {
      const end = Date.now();
      for (const f of fetched) f.span?.end(end);
      batchSpan.end(end);
    }

    async function settleBatch(all: Fetched[]): Promise<void> {
      const items: BatchItem<z.output<S>>[] = [];
      const accepted: Fetched[] = [];
      for (const f of all) {
        const { m } = f;
        try {
          items.push({
            msg: decode(opts.schema, m.data, `message on ${m.subject}`),
            subject: m.subject,
            streamSeq: m.info.streamSequence,
            headers: headerRecord(m),
            traceContext: f.traceContext,
            deliveryCount: m.info.deliveryCount,
            lastAttempt: m.info.deliveryCount >= maxDeliver,
          });
          accepted.push(f);
          const kind = (items.at(-1)!.msg as { kind?: unknown } | null)?.kind;
          if (typeof kind === 'string') f.span?.setAttribute('ragline.event.kind', kind);
        } catch (e) {
          if (f.span) recordError(f.span, e);
          await deadLetter(f, e).catch((dlErr) => {
            log.error({ err: errorInfo(dlErr) }, 'dead-letter publish failed');
            m.nak(5000);
          });
        }
      }
      if (!items.length) return;
      stats.batches++;
      try {
        const outcome = await opts.handler(items);
        const later = new Set(outcome ? outcome.later : []);
        for (let i = 0; i < accepted.length; i++) {
          const f = accepted[i]!;
          if (later.has(items[i]!)) {
            f.span?.addEvent('deferred', { delay_ms: outcome!.delayMs ?? 1000 });
            f.m.nak(outcome!.delayMs ?? 1000);
          } else {
            f.m.ack();
            stats.done++;
          }
        }
      } catch (e) {
        recordError(batchSpan, e);
        stats.failed += accepted.length;
        log.warn({ err: errorInfo(e), size: accepted.length }, 'batch handler failed');
        for (const f of accepted) {
          if (f.span) recordError(f.span, e);
          if (isRetryable(e) && f.m.info.deliveryCount < maxDeliver) {
            const delay = Math.min(30_000, 1000 * 2 ** (f.m.info.deliveryCount - 1));
            f.span?.addEvent('retry', { delay_ms: delay, delivery: f.m.info.deliveryCount });
            f.m.nak(delay);
          } else await deadLetter(f, e).catch(() => f.m.nak(5000));
        }
      }
    }
  }

  async function loop(consumer: Consumer): Promise<void> {
    while (!stopping) {
      if (opts.canPull && !(await opts.canPull())) {
        await sleep(500);
        continue;
      }
      const msgs: JsMsg[] = [];
      try {
        const iter = await consumer.fetch({ max_messages: opts.maxBatch ?? 256, expires: Math.max(1000, opts.maxWaitMs ?? 250) });
        for await (const m of iter) msgs.push(m);
      } catch (e) {
        if (stopping) break;
        log.warn({ err: errorInfo(e) }, 'fetch failed; retrying');
        await sleep(1000);
        continue;
      }
      if (!msgs.length) continue;
      await processBatch(msgs);
    }
  }

  const finished = (async () => {
    const consumer = await durableConsumerWhenReady(js, opts.stream, opts.consumer, log, () => stopping);
    if (consumer) await loop(consumer);
  })();

  return {
    stats,
    finished,
    async stop(graceMs = 25_000) {
      stopping = true;
      await Promise.race([finished, sleep(graceMs)]);
    },
  };
}
