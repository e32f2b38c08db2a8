import { setTimeout as sleep } from 'node:timers/promises';
import { jetstream, type Consumer, type JsMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { DeadLetter, HEADERS, decode, type Stage } from '@ragline/contracts';
import type { Logger } from '@ragline/telemetry';
import type { z } from 'zod';
import { errorInfo, isRetryable } from './errors.js';
import { Publisher } from './publish.js';

export interface BatchItem<T> {
  msg: T;
  subject: string;
  streamSeq: number;
  headers: Record<string, string[]>;
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
  handler: (items: BatchItem<z.output<S>>[]) => Promise<void>;
  dlqSubject: string;
  maxDeliver?: number;
  logger: Logger;
}

/**
 * Pulls messages in batches and hands them to one handler call, so a writer (the monitor's MySQL
 * progress writer) does one transaction per batch instead of one per event.
 */
export function runBatchConsumer<S extends z.ZodType>(opts: BatchConsumerOptions<S>) {
  const js = jetstream(opts.nc);
  const publisher = new Publisher(opts.nc);
  const maxDeliver = opts.maxDeliver ?? 5;
  const log = opts.logger.child({ stage: opts.stage, consumer: opts.consumer });
  const stats = { batches: 0, done: 0, failed: 0, deadLettered: 0 };
  let stopping = false;

  async function deadLetter(m: JsMsg, err: unknown): Promise<void> {
    const h: Record<string, string[]> = {};
    if (m.headers) for (const k of m.headers.keys()) h[k] = m.headers.values(k);
    await publisher.publish(
      opts.dlqSubject,
      DeadLetter,
      {
        v: 1,
        kind: 'dead_letter',
        stage: opts.stage,
        subject: m.subject,
        stream_seq: m.info.streamSequence,
        deliveries: m.info.deliveryCount,
        error: errorInfo(err),
        task_id: h[HEADERS.taskId]?.[0] ?? null,
        doc_id: h[HEADERS.docId]?.[0] ?? null,
        data_b64: Buffer.from(m.data).toString('base64'),
        headers: h,
        at: Date.now(),
      },
      { msgID: `dlq.${opts.stream}.${m.info.streamSequence}` },
    );
    stats.deadLettered++;
    m.term();
  }

  async function loop(consumer: Consumer): Promise<void> {
    while (!stopping) {
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
      const items: BatchItem<z.output<S>>[] = [];
      const accepted: JsMsg[] = [];
      for (const m of msgs) {
        try {
          const h: Record<string, string[]> = {};
          if (m.headers) for (const k of m.headers.keys()) h[k] = m.headers.values(k);
          items.push({ msg: decode(opts.schema, m.data, opts.consumer), subject: m.subject, streamSeq: m.info.streamSequence, headers: h });
          accepted.push(m);
        } catch (e) {
          await deadLetter(m, e).catch((dlErr) => {
            log.error({ err: errorInfo(dlErr) }, 'dead-letter publish failed');
            m.nak(5000);
          });
        }
      }
      if (!items.length) continue;
      stats.batches++;
      try {
        await opts.handler(items);
        for (const m of accepted) m.ack();
        stats.done += accepted.length;
      } catch (e) {
        stats.failed += accepted.length;
        log.warn({ err: errorInfo(e), size: accepted.length }, 'batch handler failed');
        for (const m of accepted) {
          if (isRetryable(e) && m.info.deliveryCount < maxDeliver) m.nak(Math.min(30_000, 1000 * 2 ** (m.info.deliveryCount - 1)));
          else await deadLetter(m, e).catch(() => m.nak(5000));
        }
      }
    }
  }

  const finished = (async () => {
    let consumer: Consumer | undefined;
    while (!consumer && !stopping) {
      try {
        consumer = await js.consumers.get(opts.stream, opts.consumer);
      } catch (e) {
        log.warn({ err: errorInfo(e) }, 'consumer not available yet; retrying');
        await sleep(1000);
      }
    }
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
