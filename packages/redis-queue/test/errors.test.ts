import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { toQueueError } from '../src/errors.js';
import { QueueError, RagflowQueueConsumer, createRedis } from '../src/index.js';

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

describe('QueueError', () => {
  it('never carries a failed AUTH command (and so the password) in its cause', async () => {
    const port = await freePort();
    const server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--requirepass', 'the-right-pw'], { stdio: 'ignore' });
    try {
      await sleep(300);
      const redis = createRedis({ url: `redis://:leaky-secret-pw@127.0.0.1:${port}/0`, maxRetriesPerRequest: 1 });
      const consumer = new RagflowQueueConsumer(redis, { streams: ['errors-test-stream'], consumer: 'c1' });
      const err = await consumer.ensureGroups().then(() => null, (e: unknown) => e);
      await consumer.close();
      redis.disconnect();
      expect(err).toBeInstanceOf(QueueError);
      expect((err as Error).message).toMatch(/WRONGPASS/);
      expect(inspect(err, { depth: 10 })).not.toContain('leaky-secret-pw');
    } finally {
      server.kill('SIGKILL');
    }
  });

  it('keeps the message and name of the cause', () => {
    const cause = Object.assign(new Error('WRONGPASS invalid username-password pair'), { name: 'ReplyError', command: { name: 'auth', args: ['pw-123'] } });
    const e = toQueueError(cause, 'XGROUP CREATE s g');
    expect(e.message).toBe('XGROUP CREATE s g: WRONGPASS invalid username-password pair');
    expect((e.cause as Error).name).toBe('ReplyError');
    expect(inspect(e, { depth: 10 })).not.toContain('pw-123');
  });
});
