import { setTimeout as sleep } from 'node:timers/promises';
import type { Consumer, JetStreamClient } from '@nats-io/jetstream';
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
