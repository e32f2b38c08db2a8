import { setTimeout as sleep } from 'node:timers/promises';
import type { Consumer, ConsumerInfo, JetStreamClient } from '@nats-io/jetstream';
import type { Logger } from '@ragline/telemetry';
import { errorInfo } from './errors.js';

/**
 * Gets a durable consumer, retrying while it does not exist yet (another app may still be creating
 * the topology); undefined when `stopping()` turns true first.
 */
export async function durableConsumerWhenReady(
  js: JetStreamClient,
  stream: string,
  name: string,
  log: Logger,
  stopping: () => boolean,
): Promise<Consumer | undefined> {
  while (!stopping()) {
    try {
      return await js.consumers.get(stream, name);
    } catch (e) {
      log.warn({ err: errorInfo(e) }, 'consumer not available yet; retrying');
      await sleep(1000);
    }
  }
  return undefined;
}

/**
 * How often a worker extends its hold on a message: a third of the consumer's ack wait (so two
 * missed beats still keep it), at most every 10 s. Read from the consumer itself so it always
 * follows the configured NATS_ACK_WAIT_MS.
 */
export function workingIntervalFor(info: ConsumerInfo): number {
  const ackWaitMs = Number(info.config.ack_wait ?? 30_000_000_000) / 1e6;
  return Math.max(250, Math.min(10_000, Math.floor(ackWaitMs / 3)));
}
