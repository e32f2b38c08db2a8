import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';

export const rand = (): string => randomBytes(5).toString('hex');

export async function tempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'ragline-storage-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** s3rver, a real S3-protocol server, on a free port with its own data folder. */
export async function startS3(): Promise<{ port: number; stop: () => Promise<void> }> {
  const { dir, cleanup } = await tempDir();
  const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: dir });
  const { port } = await server.run();
  return {
    port,
    stop: async () => {
      await server.close();
      await cleanup();
    },
  };
}

/** s3rver checks signatures against these fixed credentials. */
export const S3_CREDENTIALS = { accessKey: 'S3RVER', secretKey: 'S3RVER' };

/** A port nothing listens on: bind an ephemeral port, then release it. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
