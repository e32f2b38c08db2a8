import type { JsMsg } from '@nats-io/jetstream';
import { HEADERS, type Stage } from '@ragline/contracts';
import type { Context, Logger, Span } from '@ragline/telemetry';
import { publishDeadLetter } from './dead-letter.js';
import { errorInfo, isRetryable, retryAfterOf } from './errors.js';
import type { Publisher } from './publish.js';

/**
 * The one settle/retry policy of both consumer loops (runConsumer, runBatchConsumer), so they cannot
 * drift apart again. Retryability is a property of the error (`errors.ts`, see docs/architecture.md,
 * "Retries"); this module only maps (error, delivery count, maxDeliver) to what happens to the message.
 */
export interface RetryPolicy {
  /** must equal the consumer's max_deliver */
  maxDeliver: number;
  /** back-off of delivery n is base * 2^(n-1) ... */
  retryBaseMs: number;
  /** ... capped here */
  retryMaxMs: number;
}

export type Settlement =
  | { action: 'ack' }
  /** redeliver after delayMs; `handback` is a shutdown giving the message to another replica at once */
  | { action: 'nak'; delayMs: number; reason: 'retry' | 'handback' }
  /** publish a dead letter, then `+TERM` (see deadLetterAndTerm) */
  | { action: 'dead_letter'; reason: 'permanent' | 'invalid' | 'exhausted' };

export interface SettleInput {
  /** what the handler threw; undefined when it succeeded */
  error?: unknown;
  /** set when the error is not the handler's but the message's own (it failed its contract) */
  invalid?: boolean;
  /** 1 on the first delivery */
  deliveryCount: number;
  /** the process is past its drain grace: whatever happened, hand the message back */
  aborted?: boolean;
}

/** Delay before the next delivery: the Retry-After the error carries, else exponential back-off with a cap. */
export function retryDelayMs(err: unknown, deliveryCount: number, policy: Pick<RetryPolicy, 'retryBaseMs' | 'retryMaxMs'>): number {
  const after = retryAfterOf(err);
  if (after !== undefined) return Math.round(after);
  const n = Math.max(1, Math.floor(deliveryCount));
  return Math.min(policy.retryMaxMs, policy.retryBaseMs * 2 ** (n - 1));
}

/**
 * Rules, in order:
 * 1. aborted (drain past its grace) -> nak without delay: the work was not judged, hand it back;
 * 2. invalid message (contract violation) -> dead letter, never retried (it cannot change);
 * 3. no error -> ack;
 * 4. retryable error before the last delivery -> nak with retryDelayMs;
 * 5. otherwise (permanent error, or retries exhausted) -> dead letter.
 */
export function decideSettlement(input: SettleInput, policy: RetryPolicy): Settlement {
  if (input.aborted) return { action: 'nak', delayMs: 0, reason: 'handback' };
  if (input.invalid) return { action: 'dead_letter', reason: 'invalid' };
  if (input.error === undefined) return { action: 'ack' };
  if (!isRetryable(input.error)) return { action: 'dead_letter', reason: 'permanent' };
  if (input.deliveryCount < policy.maxDeliver) return { action: 'nak', delayMs: retryDelayMs(input.error, input.deliveryCount, policy), reason: 'retry' };
  return { action: 'dead_letter', reason: 'exhausted' };
}

export interface DeadLetterTarget {
  publisher: Publisher;
  stage: Stage;
  stream: string;
  /** null for a consumer of the dead-letter stream itself: log and terminate (the stream keeps it) */
  dlqSubject: string | null;
  log: Logger;
  policy: RetryPolicy;
  /** counted only when the message really left (dead letter published, or dropped) */
  onDeadLettered?: () => void;
}

/**
 * The retry policy and dead-letter target of one consumer loop, from its options; `retryMaxMs`
 * defaults per loop (a batch blocks every message in it, so it backs off less).
 */
export function settleSetup(
  opts: { stage: Stage; stream: string; dlqSubject: string | null; maxDeliver?: number; retryBaseMs?: number; retryMaxMs?: number },
  deps: { publisher: Publisher; log: Logger; defaultRetryMaxMs: number; onDeadLettered: () => void },
): { policy: RetryPolicy; dlq: DeadLetterTarget } {
  const policy: RetryPolicy = { maxDeliver: opts.maxDeliver ?? 5, retryBaseMs: opts.retryBaseMs ?? 1000, retryMaxMs: opts.retryMaxMs ?? deps.defaultRetryMaxMs };
  return {
    policy,
    dlq: { publisher: deps.publisher, stage: opts.stage, stream: opts.stream, dlqSubject: opts.dlqSubject, log: deps.log, policy, onDeadLettered: deps.onDeadLettered },
  };
}

export interface DeadLetterResult {
  /** true: dead letter published (or dropped) and the message terminated; false: publish failed, message nak'ed */
  terminated: boolean;
  delayMs?: number;
}

/**
 * The one dead-letter path. Publishes the dead letter, then terminates with a plain `+TERM` (no reason:
 * nats-server before 2.10 ignores `+TERM <reason>` and redelivers, docs/architecture.md "Retries").
 * Never throws: when the publish fails it logs that and naks (delay per the policy, or the publish
 * error's Retry-After), so the message comes back and the dead-lettering is tried again instead of
 * being lost. Note a nak on the last delivery leaves the message in the stream, undelivered (the
 * server's MAX_DELIVERIES advisory reports it), which still beats terminating it unrecorded.
 */
export async function deadLetterAndTerm(
  t: DeadLetterTarget,
  m: JsMsg,
  err: unknown,
  trace: { span?: Span; traceContext?: Context } = {},
): Promise<DeadLetterResult> {
  const where = { subject: m.subject, stream_seq: m.info.streamSequence, deliveries: m.info.deliveryCount };
  if (t.dlqSubject === null) {
    const info = errorInfo(err);
    t.log.error({ ...where, msg_id: m.headers?.get('Nats-Msg-Id') || undefined, err: info }, 'unprocessable message dropped');
    trace.span?.addEvent('dropped', { 'error.message': info.message });
    t.onDeadLettered?.();
    m.term();
    return { terminated: true };
  }
  try {
    const dl = await publishDeadLetter(t.publisher, m, err, {
      stage: t.stage,
      stream: t.stream,
      dlqSubject: t.dlqSubject,
      traceContext: trace.traceContext,
    });
    t.onDeadLettered?.();
    trace.span?.addEvent('dead_lettered', { 'error.message': dl.error.message });
    t.log.error({ task_id: dl.task_id, err: dl.error, deliveries: dl.deliveries }, 'message dead-lettered');
    m.term();
    return { terminated: true };
  } catch (dlErr) {
    const delayMs = retryDelayMs(dlErr, m.info.deliveryCount, t.policy);
    const task_id = m.headers?.get(HEADERS.taskId) || undefined;
    t.log.error({ ...where, task_id, err: errorInfo(dlErr), cause: errorInfo(err), delay_ms: delayMs }, 'dead-letter publish failed');
    trace.span?.addEvent('dead_letter_failed', { 'error.message': errorInfo(dlErr).message, delay_ms: delayMs });
    m.nak(delayMs);
    return { terminated: false, delayMs };
  }
}
