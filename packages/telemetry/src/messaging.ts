import type { Attributes } from '@opentelemetry/api';

/**
 * OpenTelemetry messaging attribute names (semantic conventions, still "Development"). NATS has no
 * well-known `messaging.system` value, so the custom `nats` is used, as the conventions allow.
 */
export const MSG_ATTR = {
  system: 'messaging.system',
  operationName: 'messaging.operation.name',
  operationType: 'messaging.operation.type',
  destination: 'messaging.destination.name',
  consumerGroup: 'messaging.consumer.group.name',
  messageId: 'messaging.message.id',
  bodySize: 'messaging.message.body.size',
  batchCount: 'messaging.batch.message_count',
  /** time a message waited in JetStream between its publish and the start of its processing */
  queueWaitMs: 'ragline.queue_wait_ms',
  deliveryCount: 'ragline.delivery.count',
  streamSeq: 'ragline.stream.sequence',
  duplicate: 'ragline.duplicate',
} as const;

export type MessagingOperation = 'send' | 'process' | 'receive' | 'settle' | 'create';

/** The attributes every messaging span carries: system, operation (name and type), destination. */
export function messagingAttributes(operation: MessagingOperation, destination?: string, system = 'nats'): Attributes {
  return {
    [MSG_ATTR.system]: system,
    [MSG_ATTR.operationName]: operation,
    [MSG_ATTR.operationType]: operation,
    ...(destination !== undefined ? { [MSG_ATTR.destination]: destination } : {}),
  };
}

/**
 * Milliseconds between a publish timestamp (epoch ms, as text from a header) and `now`; undefined
 * when the header is absent or malformed. Clamped at 0: clocks of two hosts may disagree slightly.
 */
export function queueWaitMs(publishedAt: string | undefined | null, now: number = Date.now()): number | undefined {
  if (!publishedAt) return undefined;
  const at = Number(publishedAt);
  if (!Number.isFinite(at) || at <= 0) return undefined;
  return Math.max(0, now - at);
}
