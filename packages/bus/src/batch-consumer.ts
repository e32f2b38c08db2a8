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
import { errorInfo } from './errors.js';
import { durableConsumerWhenReady, workingIntervalFor } from './consumer-handle.js';
import { faultPoint } from './fault.js';
import { headerRecord } from './dead-letter.js';
import { deadLetterAndTerm, decideSettlement, settleSetup } from './settle.js';
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

/** What a batch handler gets besides the items (the counterpart of runConsumer's DeliveryContext). */
export interface BatchContext {
  /** aborted when stop()'s grace period ran out: the batch's messages have been handed back */
  signal: AbortSignal;
  /** tell JetStream every message of the batch is still being worked on (resets AckWait); also sent automatically */
  working(): void;
}

export interface BatchConsumerOptions<S extends z.ZodType> {
  nc: NatsConnection;
  stream: string;
  consumer: string;
  stage: Stage;
  schema: S;
  /** most messages handed to one handler call; default 256 */
  maxBatch?: number;
  /**
   * how long a batch waits to fill after its first message arrived; default 250 ms (bounds write
   * latency). Messages already pending are taken at once, whatever this is.
   */
  maxWaitMs?: number;
  handler: (items: BatchItem<z.output<S>>[], ctx: BatchContext) => Promise<void | BatchOutcome<z.output<S>>>;
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
  /** in-progress ack period for held messages; default a third of the consumer's ack wait, at most 10 s */
  workingIntervalMs?: number;
  /** delay before redelivery after a retryable batch failure without Retry-After: base * 2^(n-1), capped; default 1 s / 30 s */
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** how long one wait for a batch's first message lasts before asking again; default 1 s, at least 1 s (client minimum); bounds drain latency */
  pullExpiresMs?: number;
}

export interface BatchConsumerStats {
  batches: number;
  done: number;
  failed: number;
  deadLettered: number;
}

export interface RunningBatchConsumer {
  readonly stats: BatchConsumerStats;
  /** resolves when the fetch loop exited */
  readonly finished: Promise<void>;
  /**
   * stop fetching, wait up to graceMs for the batch in hand, then abort the handler's signal and hand
   * back (nak without delay) every message held but not settled, so another replica gets it at once
   */
  stop(graceMs?: number): Promise<void>;
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
export function runBatchConsumer<S extends z.ZodType>(opts: BatchConsumerOptions<S>): RunningBatchConsumer {
  const js = jetstream(opts.nc);
  const tracer = opts.tracer ?? trace.getTracer(BUS_TRACER_NAME);
  const publisher = new Publisher(opts.nc, { tracer });
  const maxDeliver = opts.maxDeliver ?? 5;
  const messageSpans = opts.messageSpans ?? true;
  const log = opts.logger.child({ stage: opts.stage, consumer: opts.consumer });
  const stats: BatchConsumerStats = { batches: 0, done: 0, failed: 0, deadLettered: 0 };
  const maxBatch = opts.maxBatch ?? 256;
  const maxWaitMs = Math.max(0, opts.maxWaitMs ?? 250);
  const pullExpiresMs = Math.max(1000, opts.pullExpiresMs ?? 1000);
  let workingEvery = opts.workingIntervalMs ?? 10_000;
  let stopping = false;
  /** ends waits (fill, paused gate) on stop */
  const stopSignal = new AbortController();
  /** the handler's signal: aborted when the grace period ran out */
  const abort = new AbortController();
  /** fetched and not settled yet: what in-progress acks extend and stop hands back */
  const held = new Set<JsMsg>();

  const { policy, dlq } = settleSetup(opts, { publisher, log, defaultRetryMaxMs: 30_000, onDeadLettered: () => stats.deadLettered++ });

  /** Takes a message out of `held`; false when it is no longer ours to settle (stop handed it back). */
  const release = (m: JsMsg): boolean => held.delete(m);
  const touchHeld = (): void => {
    for (const m of held) m.working();
  };
  function handBack(): void {
    if (held.size) log.warn({ count: held.size }, 'handed back held messages on shutdown');
    for (const m of held) m.nak(0);
    held.clear();
  }

  async function deadLetter(f: Fetched, err: unknown): Promise<void> {
    if (!release(f.m)) return;
    // the dead letter continues the message's own trace (through its span when there is one)
    await deadLetterAndTerm(dlq, f.m, err, { span: f.span, traceContext: f.span ? trace.setSpan(f.traceContext, f.span) : f.traceContext });
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
          await deadLetter(f, e);
        }
      }
      if (!items.length) return;
      stats.batches++;
      let outcome: void | BatchOutcome<z.output<S>>;
      for (const f of accepted) faultPoint('consume', f.m.subject);
      try {
        outcome = await opts.handler(items, { signal: abort.signal, working: touchHeld });
      } catch (e) {
        recordError(batchSpan, e);
        stats.failed += accepted.length;
        log.warn({ err: errorInfo(e), size: accepted.length }, 'batch handler failed');
        for (const f of accepted) {
          if (f.span) recordError(f.span, e);
          const decision = decideSettlement({ error: e ?? new Error('handler threw undefined'), deliveryCount: f.m.info.deliveryCount, aborted: abort.signal.aborted }, policy);
          if (decision.action === 'dead_letter') await deadLetter(f, e);
          else if (release(f.m)) {
            if (decision.action === 'nak' && decision.reason === 'retry') f.span?.addEvent('retry', { delay_ms: decision.delayMs, delivery: f.m.info.deliveryCount });
            if (decision.action === 'ack') f.m.ack();
            else f.m.nak(decision.delayMs);
          }
        }
        return;
      }
      const later = new Set(outcome ? outcome.later : []);
      for (const f of accepted) faultPoint('settle', f.m.subject);
      for (let i = 0; i < accepted.length; i++) {
        const f = accepted[i]!;
        if (!release(f.m)) continue;
        if (later.has(items[i]!)) {
          f.span?.addEvent('deferred', { delay_ms: outcome!.delayMs ?? 1000 });
          f.m.nak(outcome!.delayMs ?? 1000);
        } else {
          f.m.ack();
          stats.done++;
        }
      }
    }
  }

  /** Waits `ms` unless stop() comes first. */
  async function pause(ms: number): Promise<void> {
    await sleep(ms, undefined, { signal: stopSignal.signal }).catch(() => undefined);
  }

  async function fetchUpTo(consumer: Consumer, n: number): Promise<JsMsg[]> {
    const out: JsMsg[] = [];
    const iter = await consumer.fetch({ max_messages: n, expires: 1000 });
    for await (const m of iter) {
      held.add(m);
      out.push(m);
    }
    return out;
  }

  /**
   * Fills one batch: waits (pullExpiresMs at a time) for a first message, then takes what the
   * consumer has pending (each message says how many follow it), and once caught up waits the rest
   * of maxWaitMs once for late arrivals. A fetch that waits for maxWaitMs itself is not possible:
   * the client refuses pull expiries under 1 s, which used to raise the documented 250 ms to 1 s.
   */
  async function fill(consumer: Consumer): Promise<JsMsg[]> {
    const first = await consumer.next({ expires: pullExpiresMs });
    if (!first) return [];
    held.add(first);
    const batch = [first];
    const deadline = Date.now() + maxWaitMs;
    let pending = first.info.pending;
    let waited = false;
    while (batch.length < maxBatch && !stopping) {
      if (pending > 0) {
        const got = await fetchUpTo(consumer, Math.min(pending, maxBatch - batch.length));
        if (!got.length) break; // another replica took them
        batch.push(...got);
        pending = got.at(-1)!.info.pending;
        continue;
      }
      const left = deadline - Date.now();
      if (waited || left <= 0) break;
      waited = true;
      await pause(left);
      if (stopping) break;
      pending = (await consumer.info(false)).num_pending;
    }
    return batch;
  }

  async function loop(consumer: Consumer): Promise<void> {
    while (!stopping) {
      if (opts.canPull && !(await opts.canPull())) {
        await pause(500);
        continue;
      }
      let msgs: JsMsg[] = [];
      // held messages are extended from their first fetch until settled (fill plus handler can outlast the ack wait)
      const timer = setInterval(touchHeld, workingEvery);
      try {
        try {
          msgs = await fill(consumer);
        } catch (e) {
          if (stopping) break;
          log.warn({ err: errorInfo(e) }, 'fetch failed; retrying');
          // what a failed fill got so far goes back now rather than after the ack wait
          for (const m of held) m.nak(0);
          held.clear();
          await pause(1000);
          continue;
        }
        if (!msgs.length) continue;
        if (stopping) break;
        await processBatch(msgs);
      } finally {
        clearInterval(timer);
        // a fetch that lands after stop, or a batch fetched but not yet handed over
        if (stopping) handBack();
      }
    }
  }

  const finished = (async () => {
    const consumer = await durableConsumerWhenReady(js, opts.stream, opts.consumer, log, () => stopping);
    if (!consumer) return;
    workingEvery = opts.workingIntervalMs ?? workingIntervalFor(await consumer.info(true));
    await loop(consumer);
  })();

  return {
    stats,
    finished,
    async stop(graceMs = 25_000) {
      stopping = true;
      stopSignal.abort();
      const graceful = await Promise.race([finished.then(() => true), sleep(graceMs).then(() => false)]);
      if (!graceful) {
        abort.abort();
        handBack();
        await Promise.race([finished, sleep(2000)]);
      }
    },
  };
}
