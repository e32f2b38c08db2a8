import { setTimeout as sleep } from 'node:timers/promises';
import { jetstream, type Consumer, type JetStreamClient, type JsMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { HEADERS, decode, type Stage } from '@ragline/contracts';
import {
  SpanKind,
  extractTraceContext,
  queueWaitMs,
  recordError,
  type Context,
  type Logger,
  type Span,
  type Tracer,
} from '@ragline/telemetry';

import type { z } from 'zod';
import { faultPoint } from './fault.js';
import { errorInfo } from './errors.js';
import { durableConsumerWhenReady, workingIntervalFor } from './consumer-handle.js';
import { headerRecord } from './dead-letter.js';
import { deadLetterAndTerm, decideSettlement, settleSetup, type Settlement } from './settle.js';
import { PUBLISHED_AT_HEADER, Publisher } from './publish.js';

export interface DeliveryContext {
  subject: string;
  streamSeq: number;
  deliveryCount: number;
  /** true on the last delivery before the message is dead-lettered */
  lastAttempt: boolean;
  headers: Record<string, string[]>;
  /** trace context carried by the message */
  traceContext: Context;
  /** the consumer span for this delivery */
  span: Span;
  /** aborted when the process drains past its grace period */
  signal: AbortSignal;
  /** tell JetStream we are still working (resets AckWait); also sent automatically */
  working(): void;
}

export interface ConsumerRunOptions<S extends z.ZodType> {
  nc: NatsConnection;
  stream: string;
  consumer: string;
  stage: Stage;
  schema: S;
  /** messages processed at once by this replica; default 4 */
  concurrency?: number;
  handler: (msg: z.output<S>, ctx: DeliveryContext) => Promise<void>;
  /** where messages that exhaust retries or fail permanently go */
  dlqSubject: string;
  /** must equal the consumer's max_deliver; default 5 */
  maxDeliver?: number;
  logger: Logger;
  tracer: Tracer;
  /** in-progress ack period; default a third of the consumer's ack wait, at most 10 s */
  workingIntervalMs?: number;
  /** delay before redelivery after a retryable error: base * 2^(n-1), capped; default 1 s / 60 s */
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** how long a pull waits for a message before asking again; default 2 s (bounds drain latency) */
  pullExpiresMs?: number;
  /** hook to pause pulling while a dependency is down (circuit breaker) */
  canPull?: () => boolean | Promise<boolean>;
}

export interface ConsumerStats {
  inFlight: number;
  done: number;
  failed: number;
  deadLettered: number;
}

export interface RunningConsumer {
  readonly stats: ConsumerStats;
  /** stop pulling, wait up to graceMs for in-flight work, then nak what is left */
  stop(graceMs?: number): Promise<void>;
  /** resolves when every worker loop exited */
  readonly finished: Promise<void>;
}

/**
 * Runs a durable pull consumer shared by all replicas of a stage: N worker loops each pull one
 * message at a time (so nothing is hoarded and a crash redelivers quickly), validate it against the
 * contract, run the handler with in-progress acks, and settle by the error's retryability.
 */
export function runConsumer<S extends z.ZodType>(opts: ConsumerRunOptions<S>): RunningConsumer {
  const concurrency = opts.concurrency ?? 4;
  const maxDeliver = opts.maxDeliver ?? 5;
  const js: JetStreamClient = jetstream(opts.nc);
  const publisher = new Publisher(opts.nc);
  const stats: ConsumerStats = { inFlight: 0, done: 0, failed: 0, deadLettered: 0 };
  const log = opts.logger.child({ stage: opts.stage, consumer: opts.consumer });
  let stopping = false;
  const abort = new AbortController();
  const inFlight = new Set<JsMsg>();
  let workingEvery = opts.workingIntervalMs ?? 10_000;

  const { policy, dlq } = settleSetup(opts, { publisher, log, defaultRetryMaxMs: 60_000, onDeadLettered: () => stats.deadLettered++ });

  async function settle(m: JsMsg, decision: Settlement, err: unknown, span: Span, taskId: string | undefined): Promise<void> {
    const deliveryCount = m.info.deliveryCount;
    switch (decision.action) {
      case 'ack':
        m.ack();
        return;
      case 'nak':
        if (decision.reason === 'handback') {
          log.warn({ task_id: taskId }, 'handed back in-flight message on shutdown');
        } else {
          span.addEvent('retry', { delay_ms: decision.delayMs, delivery: deliveryCount });
          log.warn({ task_id: taskId, err: errorInfo(err), delivery: deliveryCount, delay_ms: decision.delayMs }, 'handler failed, will retry');
        }
        m.nak(decision.delayMs);
        return;
      case 'dead_letter':
        await deadLetterAndTerm(dlq, m, err, { span, traceContext: extractTraceContext((k) => m.headers?.get(k) || undefined) });
        return;
    }
  }

  async function handle(m: JsMsg): Promise<void> {
    const parent = extractTraceContext((k) => m.headers?.get(k) || undefined);
    const taskId = m.headers?.get(HEADERS.taskId) || undefined;
    const deliveryCount = m.info.deliveryCount;
    const queueWait = queueWaitMs(m.headers?.get(PUBLISHED_AT_HEADER));
    await opts.tracer.startActiveSpan(
      `process ${m.subject}`,
      {
        kind: SpanKind.CONSUMER,
        attributes: {
          'messaging.system': 'nats',
          'messaging.operation.name': 'process',
          'messaging.operation.type': 'process',
          'messaging.destination.name': m.subject,
          'messaging.consumer.group.name': opts.consumer,
          'messaging.message.id': m.headers?.get('Nats-Msg-Id') || String(m.info.streamSequence),
          'messaging.message.body.size': m.data.byteLength,
          'ragline.delivery.count': deliveryCount,
          ...(queueWait !== undefined ? { 'ragline.queue_wait_ms': queueWait } : {}),
          ...(taskId ? { 'task.id': taskId } : {}),
        },
      },
      parent,
      async (span: Span) => {
        const timer = setInterval(() => m.working(), workingEvery);
        try {
          let msg: z.output<S>;
          try {
            // the subject tells which stream and message kind failed its contract ("invalid message on ragline.tasks.parse: ...")
            msg = decode(opts.schema, m.data, `message on ${m.subject}`);
          } catch (e) {
            recordError(span, e);
            stats.failed++;
            // same dead-letter path as a handler failure: a failing DLQ publish is logged and nak'ed, not thrown
            await settle(m, decideSettlement({ error: e, invalid: true, deliveryCount }, policy), e, span, taskId);
            return;
          }
          let error: unknown;
          let failed = false;
          faultPoint('consume', m.subject);
          try {
            await opts.handler(msg, {
              subject: m.subject,
              streamSeq: m.info.streamSequence,
              deliveryCount,
              lastAttempt: deliveryCount >= maxDeliver,
              headers: headerRecord(m),
              traceContext: parent,
              span,
              signal: abort.signal,
              working: () => m.working(),
            });
          } catch (e) {
            failed = true;
            // an `undefined` throw is still a failure
            error = e ?? new Error('handler threw undefined');
            recordError(span, e);
            stats.failed++;
          }
          if (!failed) {
            faultPoint('settle', m.subject);
            m.ack();
            stats.done++;
            return;
          }
          const decision = decideSettlement({ error, deliveryCount, aborted: abort.signal.aborted }, policy);
          await settle(m, decision, error, span, taskId);
        } finally {
          clearInterval(timer);
          span.end();
        }
      },
    );
  }

  async function worker(consumer: Consumer): Promise<void> {
    while (!stopping) {
      if (opts.canPull && !(await opts.canPull())) {
        await sleep(500);
        continue;
      }
      let m: JsMsg | null = null;
      try {
        m = await consumer.next({ expires: opts.pullExpiresMs ?? 2000 });
      } catch (e) {
        if (stopping) break;
        log.warn({ err: errorInfo(e) }, 'pull failed; retrying');
        await sleep(1000);
        continue;
      }
      if (!m) continue;
      if (abort.signal.aborted) {
        // Past the grace period: leave it unsettled for ack wait to bring back to another replica. A
        // nak would go straight to this process's other pulls still open, each stopping worker
        // nak'ing it again until max_deliver is used up and the message is stranded.
        break;
      }
      // A message that arrives after stop began is handled like those in hand (within the grace
      // period), for the same reason: handing it back at once only bounces it between open pulls.
      inFlight.add(m);
      stats.inFlight++;
      try {
        await handle(m);
      } catch (e) {
        log.error({ err: errorInfo(e) }, 'unexpected error settling a message');
      } finally {
        stats.inFlight--;
        inFlight.delete(m);
      }
    }
  }

  const finished = (async () => {
    const consumer = await durableConsumerWhenReady(js, opts.stream, opts.consumer, log, () => stopping);
    if (!consumer) return;
    workingEvery = opts.workingIntervalMs ?? workingIntervalFor(await consumer.info(true));
    await Promise.all(Array.from({ length: concurrency }, () => worker(consumer)));
  })();

  return {
    stats,
    finished,
    async stop(graceMs = 25_000) {
      stopping = true;
      const graceful = await Promise.race([finished.then(() => true), sleep(graceMs).then(() => false)]);
      if (!graceful) {
        abort.abort();
        for (const m of inFlight) m.nak(0);
        await Promise.race([finished, sleep(2000)]);
      }
    },
  };
}
