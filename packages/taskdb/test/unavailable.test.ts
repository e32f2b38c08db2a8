import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { TaskDbError, TaskDbNotFoundError, createTaskDb, isTaskDbUnavailable } from '../src/index.js';
import { freshDb } from './helpers.js';

async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as { port: number };
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('isTaskDbUnavailable', () => {
  it('is true when MySQL refuses connections', async () => {
    const db = createTaskDb({ host: '127.0.0.1', port: await closedPort(), user: 'root', database: 'nothing_here' });
    try {
      const err = await db.ping().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TaskDbError);
      expect(isTaskDbUnavailable(err)).toBe(true);
    } finally {
      await db.close();
    }
  });

  it('is false for errors of the work itself: missing rows, deadlocks, bad statements, foreign errors', async () => {
    const t = await freshDb();
    try {
      const missing = await t.db.createDocument({ kbId: 'no-such-kb', name: 'x', location: 'x', size: 1, type: 'doc', suffix: 'txt', parserId: 'naive', parserConfig: {} }).catch((e: unknown) => e);
      expect(missing).toBeInstanceOf(TaskDbNotFoundError);
      expect(isTaskDbUnavailable(missing)).toBe(false);
    } finally {
      await t.cleanup();
    }
    expect(isTaskDbUnavailable(new TaskDbError('deadlock', { retryable: true, code: 'ER_LOCK_DEADLOCK' }))).toBe(false);
    expect(isTaskDbUnavailable(new TaskDbError('syntax', { retryable: false, code: 'ER_PARSE_ERROR' }))).toBe(false);
    expect(isTaskDbUnavailable(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }))).toBe(false);
  });
});
