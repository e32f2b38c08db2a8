import type { ConsumerInfo } from '@nats-io/jetstream';
import { describe, expect, it } from 'vitest';
import { workingIntervalFor } from '../src/consumer-handle.js';

const info = (ackWaitMs: number) => ({ config: { ack_wait: ackWaitMs * 1e6 } }) as unknown as ConsumerInfo;

describe('working() keep-alive (RAGFlow #18942: a keep-alive slower than the deadline it feeds)', () => {
  it('beats at least three times per ack wait for every ack wait NATS_ACK_WAIT_MS allows', () => {
    // NATS_ACK_WAIT_MS is 1 s .. 1 h; the monitor's consumers use min(ack wait, 30 s)
    for (const ackWait of [1000, 1500, 3000, 9999, 30_000, 60_000, 600_000, 3_600_000]) {
      const every = workingIntervalFor(info(ackWait));
      expect(every * 3, `ack wait ${ackWait} ms`).toBeLessThanOrEqual(ackWait);
      expect(every).toBeGreaterThanOrEqual(250);
    }
  });
});
