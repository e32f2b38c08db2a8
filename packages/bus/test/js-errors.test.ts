import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JS_ERR, TaskStateStore, connectNats, isJsNotEnabled, isJsNotFound, isJsStreamNameExists, isJsWrongLastSequence, jsErrCode, type NatsConnection } from '../src/index.js';

/**
 * JetStream errors are classified by err_code from the real server (RAGFlow #18942: matching error
 * text let a stream keep its old limits and a republished task be swallowed).
 */
describe('JetStream error codes', () => {
  let nc: NatsConnection;
  const id = randomBytes(4).toString('hex').toUpperCase();
  const stream = `JSERR_${id}`;
  const bucket = `jserr_${id.toLowerCase()}`;

  beforeAll(async () => {
    nc = await connectNats({ url: process.env.NATS_URL, name: 'bus-js-errors-test' });
  });
  afterAll(async () => {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.delete(stream).catch(() => undefined);
    await jsm.streams.delete(`KV_${bucket}`).catch(() => undefined);
    await nc.close();
  });

  it('tells not found, name in use, too large and wrong last sequence apart by code', async () => {
    const jsm = await jetstreamManager(nc);
    const missing = await jsm.streams.info(stream).catch((e: unknown) => e);
    expect(isJsNotFound(missing)).toBe(true);
    expect(jsErrCode(missing)).toBe(JS_ERR.StreamNotFound);
    await jsm.streams.add({ name: stream, subjects: [`${stream}.a`], max_msg_size: 64 });
    const noConsumer = await jsm.consumers.info(stream, 'nobody').catch((e: unknown) => e);
    expect(isJsNotFound(noConsumer)).toBe(true);
    expect(jsErrCode(noConsumer)).toBe(JS_ERR.ConsumerNotFound);

    const taken = await jsm.streams.add({ name: stream, subjects: [`${stream}.b`] }).catch((e: unknown) => e);
    expect(isJsStreamNameExists(taken)).toBe(true);
    expect(isJsNotFound(taken)).toBe(false);

    const tooBig = await jetstream(nc).publish(`${stream}.a`, new Uint8Array(200)).catch((e: unknown) => e);
    expect(jsErrCode(tooBig)).toBe(JS_ERR.StreamMessageExceedsMaximum);

    const kv = await new Kvm(nc).create(bucket);
    await kv.create('k', 'a');
    expect(isJsWrongLastSequence(await kv.create('k', 'b').catch((e: unknown) => e))).toBe(true);
    expect(isJsWrongLastSequence(await kv.update('k', 'b', 999).catch((e: unknown) => e))).toBe(true);
    // a plain Error that only reads like one is not classified
    expect(isJsNotFound(new Error('stream not found'))).toBe(false);
    expect(isJsWrongLastSequence(new Error('wrong last sequence: 1'))).toBe(false);
  });

  it('task state CAS retries on wrong last sequence and so counts concurrent batches once each', async () => {
    await new Kvm(nc).create(bucket);
    const store = await TaskStateStore.open(nc, bucket);
    const task = `t${id}`;
    await Promise.all(Array.from({ length: 12 }, (_, i) => store.recordBatch(task, i, 2, 10)));
    const s = await store.get(task);
    expect(s.batches).toEqual(Array.from({ length: 12 }, (_, i) => i));
    expect(s.chunks).toBe(24);
  });

  it('tells a server without JetStream by class, not by text', async () => {
    const port = await new Promise<number>((r) => {
      const srv = createServer().listen(0, '127.0.0.1', () => {
        const p = (srv.address() as { port: number }).port;
        srv.close(() => r(p));
      });
    });
    const server = spawn('/usr/sbin/nats-server', ['-a', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
    try {
      let plain: NatsConnection | undefined;
      for (let i = 0; i < 50 && !plain; i++) plain = await connectNats({ url: `nats://127.0.0.1:${port}` }).catch(async () => (await sleep(100), undefined));
      const err = await jetstreamManager(plain!).then((m) => m.getAccountInfo()).catch((e: unknown) => e);
      expect(isJsNotEnabled(err)).toBe(true);
      expect(isJsNotEnabled(new Error('jetstream not enabled'))).toBe(false);
      await plain!.close();
    } finally {
      server.kill('SIGKILL');
    }
  });
});
