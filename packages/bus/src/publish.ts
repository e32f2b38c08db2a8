import { jetstream, type JetStreamClient, type PubAck } from '@nats-io/jetstream';
import { headers as natsHeaders, type MsgHdrs, type NatsConnection } from '@nats-io/transport-node';
import { CONTRACT_VERSION, HEADERS, encode } from '@ragline/contracts';
import { injectTraceContext, type Context } from '@ragline/telemetry';
import type { z } from 'zod';
import { MessageTooLargeError, RetryableError } from './errors.js';

export interface PublishOptions {
  /** Nats-Msg-Id for JetStream deduplication */
  msgID: string;
  taskId?: string;
  docId?: string;
  /** trace context to carry; default the active context */
  traceContext?: Context;
  /** publish ack timeout; default 10 s */
  timeoutMs?: number;
}

/** Room left for headers and protocol framing inside max_payload. */
const HEADER_ALLOWANCE = 1024;

/**
 * Validated, traced, deduplicated publishing: every message leaving a stage goes through here,
 * so no app can hand-roll one.
 */
export class Publisher {
  readonly js: JetStreamClient;
  constructor(readonly nc: NatsConnection) {
    this.js = jetstream(nc);
  }

  /** The server's max_payload, the hard limit for one message including headers. */
  get maxPayload(): number {
    return this.nc.info?.max_payload ?? 1024 * 1024;
  }

  /** Largest body a caller should produce for one message. */
  get maxBody(): number {
    return this.maxPayload - HEADER_ALLOWANCE;
  }

  buildHeaders(opts: Omit<PublishOptions, 'msgID' | 'timeoutMs'>): MsgHdrs {
    const h = natsHeaders();
    h.set(HEADERS.contractVersion, String(CONTRACT_VERSION));
    if (opts.taskId) h.set(HEADERS.taskId, opts.taskId);
    if (opts.docId) h.set(HEADERS.docId, opts.docId);
    injectTraceContext((k, v) => h.set(k, v), opts.traceContext);
    return h;
  }

  async publish<S extends z.ZodType>(subject: string, schema: S, value: z.input<S>, opts: PublishOptions): Promise<PubAck> {
    const body = encode(schema, value, subject);
    return this.publishRaw(subject, body, opts);
  }

  async publishRaw(subject: string, body: Uint8Array, opts: PublishOptions, extraHeaders?: MsgHdrs): Promise<PubAck> {
    if (body.byteLength > this.maxBody) throw new MessageTooLargeError(subject, body.byteLength, this.maxBody);
    const h = extraHeaders ?? this.buildHeaders(opts);
    try {
      return await this.js.publish(subject, body, { msgID: opts.msgID, headers: h, timeout: opts.timeoutMs ?? 10_000 });
    } catch (e) {
      // no ack means we do not know if it landed: retrying is safe because of msgID dedupe
      throw new RetryableError(`publish to ${subject} failed: ${(e as Error).message}`, undefined, { cause: e });
    }
  }
}
