import type { JsMsg } from '@nats-io/jetstream';
import { createLogger } from '@ragline/telemetry';
import { describe, expect, it, vi } from 'vitest';
import { PermanentError, RetryableError, deadLetterAndTerm, decideSettlement, retryDelayMs, type Publisher, type RetryPolicy } from '../src/index.js';

const policy: RetryPolicy = { maxDeliver: 5, retryBaseMs: 1000, retryMaxMs: 6000 };

describe('decideSettlement', () => {
  it('acks a success', () => {
    expect(decideSettlement({ deliveryCount: 1 }, policy)).toEqual({ action: 'ack' });
    expect(decideSettlement({ deliveryCount: 5 }, policy)).toEqual({ action: 'ack' });
  });

  it('naks a retryable error with exponential back-off, capped', () => {
    const err = new RetryableError('later');
    expect([1, 2, 3, 4].map((n) => decideSettlement({ error: err, deliveryCount: n }, policy))).toEqual([
      { action: 'nak', delayMs: 1000, reason: 'retry' },
      { action: 'nak', delayMs: 2000, reason: 'retry' },
      { action: 'nak', delayMs: 4000, reason: 'retry' },
      { action: 'nak', delayMs: 6000, reason: 'retry' },
    ]);
  });

  it('treats an error without a retryable flag as transient', () => {
    expect(decideSettlement({ error: new Error('socket hang up'), deliveryCount: 2 }, policy)).toEqual({ action: 'nak', delayMs: 2000, reason: 'retry' });
    expect(decideSettlement({ error: 'a string', deliveryCount: 1 }, policy)).toMatchObject({ action: 'nak' });
  });

  it('honours the Retry-After the error carries instead of the back-off, also above the cap and when 0', () => {
    expect(decideSettlement({ error: new RetryableError('429', 1500), deliveryCount: 1 }, policy)).toEqual({ action: 'nak', delayMs: 1500, reason: 'retry' });
    expect(decideSettlement({ error: new RetryableError('503', 20_000), deliveryCount: 3 }, policy)).toEqual({ action: 'nak', delayMs: 20_000, reason: 'retry' });
    expect(decideSettlement({ error: new RetryableError('now', 0), deliveryCount: 4 }, policy)).toEqual({ action: 'nak', delayMs: 0, reason: 'retry' });
    // any error object may carry it (Temporal-style: a property of the error)
    expect(decideSettlement({ error: Object.assign(new Error('x'), { retryAfterMs: 250 }), deliveryCount: 1 }, policy)).toMatchObject({ delayMs: 250 });
    // a nonsense value falls back to the back-off
    expect(decideSettlement({ error: Object.assign(new Error('x'), { retryAfterMs: -5 }), deliveryCount: 1 }, policy)).toMatchObject({ delayMs: 1000 });
  });

  it('dead-letters a permanent error at once and a retryable one on its last delivery', () => {
    expect(decideSettlement({ error: new PermanentError('no'), deliveryCount: 1 }, policy)).toEqual({ action: 'dead_letter', reason: 'permanent' });
    expect(decideSettlement({ error: new RetryableError('later', 100), deliveryCount: 5 }, policy)).toEqual({ action: 'dead_letter', reason: 'exhausted' });
    expect(decideSettlement({ error: new RetryableError('later'), deliveryCount: 7 }, policy)).toEqual({ action: 'dead_letter', reason: 'exhausted' });
  });

  it('dead-letters an invalid message whatever its error says', () => {
    expect(decideSettlement({ error: new Error('invalid message on x'), invalid: true, deliveryCount: 1 }, policy)).toEqual({ action: 'dead_letter', reason: 'invalid' });
  });

  it('hands everything back without delay once aborted', () => {
    for (const input of [{}, { error: new PermanentError('no') }, { error: new RetryableError('later', 5000) }, { invalid: true }]) {
      expect(decideSettlement({ ...input, deliveryCount: 5, aborted: true }, policy)).toEqual({ action: 'nak', delayMs: 0, reason: 'handback' });
    }
  });

  it('retryDelayMs treats a delivery count below 1 as the first', () => {
    expect(retryDelayMs(new Error('x'), 0, policy)).toBe(1000);
  });
});

function fakeMsg(deliveryCount: number) {
  return {
    subject: 'x.events.progress',
    data: new TextEncoder().encode('not json'),
    headers: undefined,
    info: { streamSequence: 42, deliveryCount },
    nak: vi.fn(),
    term: vi.fn(),
  };
}

function capture() {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger({ service: 'settle-test', level: 'warn', destination: { write: (s: string) => void lines.push(JSON.parse(s)) } });
  return { lines, log };
}

describe('deadLetterAndTerm', () => {
  it('publishes, counts and terminates', async () => {
    const m = fakeMsg(1);
    const publish = vi.fn(async (_subject: string, ..._rest: unknown[]) => ({ seq: 1, duplicate: false }));
    const { lines, log } = capture();
    let counted = 0;
    const r = await deadLetterAndTerm(
      { publisher: { publish } as unknown as Publisher, stage: 'monitor', stream: 'S', dlqSubject: 'dlq.monitor', log, policy, onDeadLettered: () => counted++ },
      m as unknown as JsMsg,
      new PermanentError('bad'),
    );
    expect(r).toEqual({ terminated: true });
    expect(publish).toHaveBeenCalledOnce();
    expect(publish.mock.calls[0]![0]).toBe('dlq.monitor');
    expect(m.term).toHaveBeenCalledOnce();
    expect(m.nak).not.toHaveBeenCalled();
    expect(counted).toBe(1);
    expect(lines.map((l) => l.msg)).toEqual(['message dead-lettered']);
  });

  it('catches and logs a failing publish, then naks (Retry-After of the publish error, else back-off) instead of throwing', async () => {
    const { lines, log } = capture();
    let counted = 0;
    const target = (err: Error) => ({
      publisher: { publish: async () => Promise.reject(err) } as unknown as Publisher,
      stage: 'monitor' as const,
      stream: 'S',
      dlqSubject: 'dlq.monitor',
      log,
      policy,
      onDeadLettered: () => counted++,
    });
    const m1 = fakeMsg(2);
    await expect(deadLetterAndTerm(target(new RetryableError('publish failed')), m1 as unknown as JsMsg, new PermanentError('bad'))).resolves.toEqual({
      terminated: false,
      delayMs: 2000,
    });
    expect(m1.nak).toHaveBeenCalledWith(2000);
    expect(m1.term).not.toHaveBeenCalled();
    const m2 = fakeMsg(1);
    await deadLetterAndTerm(target(new RetryableError('publish failed', 300)), m2 as unknown as JsMsg, new PermanentError('bad'));
    expect(m2.nak).toHaveBeenCalledWith(300);
    expect(counted).toBe(0);
    expect(lines.map((l) => l.msg)).toEqual(['dead-letter publish failed', 'dead-letter publish failed']);
    expect(lines[0]).toMatchObject({ level: 'error', stream_seq: 42, deliveries: 2, err: { message: 'publish failed' }, cause: { message: 'bad' } });
  });

  it('without a dead-letter subject logs the message as dropped and terminates it', async () => {
    const { lines, log } = capture();
    const m = fakeMsg(1);
    const publish = vi.fn();
    const r = await deadLetterAndTerm(
      { publisher: { publish } as unknown as Publisher, stage: 'monitor', stream: 'S', dlqSubject: null, log, policy },
      m as unknown as JsMsg,
      new PermanentError('bad'),
    );
    expect(r).toEqual({ terminated: true });
    expect(publish).not.toHaveBeenCalled();
    expect(m.term).toHaveBeenCalledOnce();
    expect(lines.map((l) => l.msg)).toEqual(['unprocessable message dropped']);
  });
});
