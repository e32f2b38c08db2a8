import type { JsMsg } from '@nats-io/jetstream';
import { DeadLetter, HEADERS, type Stage } from '@ragline/contracts';
import type { Context } from '@ragline/telemetry';
import { errorInfo } from './errors.js';
import type { Publisher } from './publish.js';

/** A message's headers as a plain record (every value of every key). */
export function headerRecord(m: JsMsg): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  if (m.headers) for (const k of m.headers.keys()) out[k] = m.headers.values(k);
  return out;
}

/**
 * Publishes a message a stage gave up on to its dead-letter subject, with the error, the original
 * payload and headers, and the task it belongs to; the id is the source stream sequence, so a retried
 * dead-lettering is deduplicated.
 */
export async function publishDeadLetter(
  publisher: Publisher,
  m: JsMsg,
  err: unknown,
  where: { stage: Stage; stream: string; dlqSubject: string; traceContext?: Context },
): Promise<DeadLetter> {
  const headers = headerRecord(m);
  const dl: DeadLetter = {
    v: 1,
    kind: 'dead_letter',
    stage: where.stage,
    subject: m.subject,
    stream_seq: m.info.streamSequence,
    deliveries: m.info.deliveryCount,
    error: errorInfo(err),
    task_id: headers[HEADERS.taskId]?.[0] ?? null,
    doc_id: headers[HEADERS.docId]?.[0] ?? null,
    data_b64: Buffer.from(m.data).toString('base64'),
    headers,
    at: Date.now(),
  };
  await publisher.publish(where.dlqSubject, DeadLetter, dl, {
    msgID: `dlq.${where.stream}.${m.info.streamSequence}`,
    taskId: dl.task_id ?? undefined,
    docId: dl.doc_id ?? undefined,
    traceContext: where.traceContext,
  });
  return dl;
}
