import { jetstream, type JetStreamClient, type PubAck } from '@nats-io/jetstream';
import { headers as natsHeaders, type MsgHdrs, type NatsConnection } from '@nats-io/transport-node';
import { CONTRACT_VERSION, HEADERS, encode } from '@ragline/contracts';
import {
  MSG_ATTR,
  SpanKind,
  context,
  injectTraceContext,
  messagingAttributes,
  recordError,
  trace,
  type Context,
  type Tracer,
} from '@ragline/telemetry';
import type { z } from 'zod';
import { MessageTooLargeError, RetryableError } from './errors.js';
import { faultPoint } from './fault.js';

/** Header carrying the publish time (epoch ms), so consumers can record how long a message queued. */
export const PUBLISHED_AT_HEADER = 'Ragline-Published-At';

/** Instrumentation scope of the bus's own spans when no tracer is given (the process's global provider). */
export const BUS_TRACER_NAME = '@ragline/bus';

export interface PublishOptions {
  /** Nats-Msg-Id for JetStream deduplication */
  msgID: string;
  taskId?: string;
  docId?: string;
  /** parent of the `send` span (whose context the message carries); default the active context */
  traceContext?: Context;
  /** publish ack timeout; default 10 s */
  timeoutMs?: number;
}

export interface PublisherOptions {
  /** tracer for `send` spans; default the global provider's `@ragline/bus` tracer */
  tracer?: Tracer;
}

/** Room left for headers and protocol framing inside max_payload. */
const HEADER_ALLOWANCE = 1024;

/**
 * Validated, traced, deduplicated publishing: every message leaving a stage goes through here,
 * so no app can hand-roll one.
 */
export class Publisher {
  readonly js: JetStreamClient;
  private readonly tracer: Tracer;
  constructor(
    readonly nc: NatsConnection,
    opts: PublisherOptions = {},
  ) {
    this.js = jetstream(nc);
    this.tracer = opts.tracer ?? trace.getTracer(BUS_TRACER_NAME);
  }

  /** The server's max_payload, the hard limit for one message including headers. */
  get maxPayload(): number {
    return this.nc.info?.max_payload ?? 1024 * 1024;
  }

  /** Largest body a caller should produce for one message. */
  get maxBody(): number {
    return this.maxPayload - HEADER_ALLOWANCE;
  }

  /** Contract, task and doc headers, the publish time, and `traceContext` (default active) as W3C headers. */
  buildHeaders(opts: Omit<PublishOptions, 'msgID' | 'timeoutMs'>): MsgHdrs {
    const h = natsHeaders();
    h.set(HEADERS.contractVersion, String(CONTRACT_VERSION));
    if (opts.taskId) h.set(HEADERS.taskId, opts.taskId);
    if (opts.docId) h.set(HEADERS.docId, opts.docId);
    h.set(PUBLISHED_AT_HEADER, String(Date.now()));
    injectTraceContext((k, v) => h.set(k, v), opts.traceContext);
    return h;
  }

  async publish<S extends z.ZodType>(subject: string, schema: S, value: z.input<S>, opts: PublishOptions): Promise<PubAck> {
    const body = encode(schema, value, subject);
    return this.publishRaw(subject, body, opts);
  }

  /**
   * Publishes inside a PRODUCER span `send <subject>` (OpenTelemetry messaging conventions); the
   * message carries that span's context, so the consumer's `process` span is its child and the gap
   * between them is the time the message queued. `extraHeaders` replace the built ones; the trace
   * context and publish time are still set on them.
   */
  async publishRaw(subject: string, body: Uint8Array, opts: PublishOptions, extraHeaders?: MsgHdrs): Promise<PubAck> {
    const parent = opts.traceContext ?? context.active();
    const span = this.tracer.startSpan(
      `send ${subject}`,
      {
        kind: SpanKind.PRODUCER,
        attributes: {
          ...messagingAttributes('send', subject),
          [MSG_ATTR.messageId]: opts.msgID,
          [MSG_ATTR.bodySize]: body.byteLength,
          ...(opts.taskId ? { 'task.id': opts.taskId } : {}),
          ...(opts.docId ? { 'doc.id': opts.docId } : {}),
        },
      },
      parent,
    );
    const sendContext = trace.setSpan(parent, span);
    try {
      if (body.byteLength > this.maxBody) throw new MessageTooLargeError(subject, body.byteLength, this.maxBody);
      let h: MsgHdrs;
      if (extraHeaders) {
        h = extraHeaders;
        h.set(PUBLISHED_AT_HEADER, String(Date.now()));
        injectTraceContext((k, v) => h.set(k, v), sendContext);
      } else {
        h = this.buildHeaders({ taskId: opts.taskId, docId: opts.docId, traceContext: sendContext });
      }
      let ack: PubAck;
      try {
        ack = await this.js.publish(subject, body, { msgID: opts.msgID, headers: h, timeout: opts.timeoutMs ?? 10_000 });
      } catch (e) {
        // no ack means we do not know if it landed: retrying is safe because of msgID dedupe
        throw new RetryableError(`publish to ${subject} failed: ${(e as Error).message}`, undefined, { cause: e });
      }
      faultPoint('publish', subject);
      span.setAttributes({ [MSG_ATTR.streamSeq]: ack.seq, [MSG_ATTR.duplicate]: ack.duplicate });
      return ack;
    } catch (e) {
      recordError(span, e);
      throw e;
    } finally {
      span.end();
    }
  }
}
