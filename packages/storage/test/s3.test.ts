import { createServer } from 'node:http';
import { Client } from 'minio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  InvalidKeyError,
  StorageAccessError,
  StorageUnavailableError,
  createObjectStore,
  createS3Store,
  parseS3Endpoint,
} from '../src/index.js';
import { objectStoreBehaviour } from './behaviour.js';
import { S3_CREDENTIALS, closedPort, rand, startS3 } from './helpers.js';

objectStoreBehaviour('S3 (s3rver), one bucket per kb', async () => {
  const s3 = await startS3();
  return {
    store: createS3Store({ endPoint: '127.0.0.1', port: s3.port, ...S3_CREDENTIALS }),
    teardown: s3.stop,
  };
});

objectStoreBehaviour('S3 (s3rver), single bucket with prefix path', async () => {
  const s3 = await startS3();
  const admin = new Client({ endPoint: '127.0.0.1', port: s3.port, useSSL: false, ...S3_CREDENTIALS });
  await admin.makeBucket('ragflow');
  return {
    store: createS3Store({ endPoint: '127.0.0.1', port: s3.port, ...S3_CREDENTIALS, bucket: 'ragflow', prefixPath: 'tenant-a' }),
    teardown: s3.stop,
  };
});

describe('S3 store', () => {
  let s3: { port: number; stop: () => Promise<void> };
  let admin: Client;
  beforeAll(async () => {
    s3 = await startS3();
    admin = new Client({ endPoint: '127.0.0.1', port: s3.port, useSSL: false, ...S3_CREDENTIALS });
  });
  afterAll(() => s3.stop());

  const listKeys = async (bucket: string): Promise<string[]> => {
    const keys: string[] = [];
    for await (const item of admin.listObjectsV2(bucket, '', true)) keys.push((item as { name: string }).name);
    return keys.sort();
  };

  it('multi-bucket mode: bucket = kb_id (created on put), key = location', async () => {
    const kb = `kb${rand()}`;
    const store = createS3Store({ endPoint: '127.0.0.1', port: s3.port, ...S3_CREDENTIALS });
    expect(store.kind).toBe('s3');
    await store.put(kb, 'dir/file.txt', Buffer.from('x'));
    expect(await admin.bucketExists(kb)).toBe(true);
    expect(await listKeys(kb)).toEqual(['dir/file.txt']);
    // S3 bucket rules apply to logical buckets in this mode
    await expect(store.put('Not_A_Bucket', 'n', Buffer.from('x'))).rejects.toBeInstanceOf(InvalidKeyError);
  });

  it('single-bucket mode: keys are <prefix_path>/<bucket>/<name> or <bucket>/<name>', async () => {
    await admin.makeBucket('phys');
    const withPrefix = createS3Store({ endPoint: '127.0.0.1', port: s3.port, ...S3_CREDENTIALS, bucket: 'phys', prefixPath: '/ragflow/' });
    const plain = createS3Store({ endPoint: '127.0.0.1', port: s3.port, ...S3_CREDENTIALS, bucket: 'phys' });
    await withPrefix.put('kb1', 'a/b.pdf', Buffer.from('1'));
    await plain.put('kb2', 'c.pdf', Buffer.from('2'));
    expect(await listKeys('phys')).toEqual(['kb2/c.pdf', 'ragflow/kb1/a/b.pdf']);
    expect((await plain.get('ragflow', 'kb1/a/b.pdf')).toString()).toBe('1');
    // logical buckets need not be valid S3 bucket names here
    await plain.put('Folder_ID', 'x', Buffer.from('3'));
    expect(await plain.exists('Folder_ID', 'x')).toBe(true);
  });

  it('health fails when the single bucket does not exist', async () => {
    const store = createS3Store({ endPoint: '127.0.0.1', port: s3.port, ...S3_CREDENTIALS, bucket: `missing${rand()}` });
    await expect(store.health()).rejects.toMatchObject({ retryable: false, message: expect.stringMatching(/does not exist/) });
  });

  it('unknown credentials give a non-retryable StorageAccessError without the keys', async () => {
    // s3rver checks the access key id (it does not verify V4 signatures, so a wrong secret alone would pass)
    const store = createS3Store({ endPoint: '127.0.0.1', port: s3.port, accessKey: 'UNKNOWNACCESSKEY', secretKey: 'some-secret-value' });
    const err = await store.put(`kb${rand()}`, 'n', Buffer.from('x')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StorageAccessError);
    expect((err as StorageAccessError).retryable).toBe(false);
    expect(String((err as Error).message)).not.toContain('UNKNOWNACCESSKEY');
    expect(String((err as Error).message)).not.toContain('some-secret-value');
  });

  it('an unreachable endpoint gives StorageUnavailableError (retryable) without the keys', async () => {
    const port = await closedPort();
    const store = createS3Store({ endPoint: '127.0.0.1', port, accessKey: 'AKIAEXAMPLEACCESS', secretKey: 'example-secret-key-value' });
    for (const attempt of [() => store.get('kb1', 'doc.pdf'), () => store.put('kb1', 'doc.pdf', Buffer.from('x')), () => store.health()]) {
      const err = (await attempt().catch((e: unknown) => e)) as Error & { retryable: boolean };
      expect(err).toBeInstanceOf(StorageUnavailableError);
      expect(err.retryable).toBe(true);
      expect(err.message).not.toContain('AKIAEXAMPLEACCESS');
      expect(err.message).not.toContain('example-secret-key-value');
    }
  });

  it('5xx answers (a proxy in front of a stopped server) give StorageUnavailableError', async () => {
    const proxy = createServer((req, res) => {
      res.statusCode = req.url?.includes('busy') ? 503 : 502;
      res.end();
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = proxy.address() as { port: number };
      const store = createS3Store({ endPoint: '127.0.0.1', port, ...S3_CREDENTIALS });
      await expect(store.get('kb1abc', 'doc.pdf')).rejects.toBeInstanceOf(StorageUnavailableError);
      await expect(store.get('kb1abc', 'busy.pdf')).rejects.toBeInstanceOf(StorageUnavailableError);
    } finally {
      await new Promise((resolve) => proxy.close(resolve));
    }
  });

  it('createObjectStore builds an S3 store from an endpoint URL', async () => {
    const store = createObjectStore({ endpoint: `http://127.0.0.1:${s3.port}`, ...S3_CREDENTIALS, localRoot: '/nonexistent' });
    expect(store.kind).toBe('s3');
    await store.health();
  });
});

describe('parseS3Endpoint', () => {
  it('splits scheme, host and port', () => {
    expect(parseS3Endpoint('http://127.0.0.1:9000')).toEqual({ endPoint: '127.0.0.1', port: 9000, useSSL: false });
    expect(parseS3Endpoint('https://s3.example.com')).toEqual({ endPoint: 's3.example.com', port: 443, useSSL: true });
    expect(parseS3Endpoint('http://minio')).toEqual({ endPoint: 'minio', port: 80, useSSL: false });
    expect(() => parseS3Endpoint('ftp://x')).toThrow(/http/);
    expect(() => parseS3Endpoint('http://key:secret@host:9000')).toThrow(/credentials/);
    expect(() => parseS3Endpoint('http://key:secret@host:9000')).not.toThrow(/secret@/);
    expect(() => parseS3Endpoint('http://h:9000/path')).toThrow(/path/);
  });
});
