import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidKeyError, ObjectNotFoundError, ObjectTooLargeError, type ObjectStore } from '../src/index.js';
import { rand } from './helpers.js';

/** What every ObjectStore must do, whatever the backend. */
export function objectStoreBehaviour(label: string, setup: () => Promise<{ store: ObjectStore; teardown: () => Promise<void> }>): void {
  describe(`ObjectStore behaviour: ${label}`, () => {
    let store: ObjectStore;
    let teardown: () => Promise<void>;
    // kb ids are 32 hex characters in RAGFlow
    const kb = (): string => `${rand()}${rand()}${rand()}`.slice(0, 32);

    beforeAll(async () => {
      ({ store, teardown } = await setup());
      await store.health();
    });
    afterAll(() => teardown());

    it('round-trips bytes, with nested names, and replaces on put', async () => {
      const bucket = kb();
      const data = Buffer.from([0, 1, 2, 255, 254, 10, 13]);
      await store.put(bucket, 'report.pdf', data);
      await store.put(bucket, 'folder/sub/资料 v2.docx', new Uint8Array([7, 8, 9]));
      expect(await store.get(bucket, 'report.pdf')).toEqual(data);
      expect(await store.get(bucket, 'folder/sub/资料 v2.docx')).toEqual(Buffer.from([7, 8, 9]));
      expect(await store.stat(bucket, 'report.pdf')).toEqual({ size: 7 });
      expect(await store.exists(bucket, 'report.pdf')).toBe(true);
      expect(await store.exists(bucket, 'folder/sub')).toBe(false);
      await store.put(bucket, 'report.pdf', Buffer.from('second'));
      expect((await store.get(bucket, 'report.pdf')).toString()).toBe('second');
      await store.put(bucket, 'empty.txt', Buffer.alloc(0));
      expect(await store.get(bucket, 'empty.txt')).toEqual(Buffer.alloc(0));
      expect(await store.get(bucket, 'empty.txt', { maxBytes: 0 })).toEqual(Buffer.alloc(0));
    });

    it('reads byte ranges', async () => {
      const bucket = kb();
      await store.put(bucket, 'r.bin', Buffer.from('0123456789'));
      expect((await store.getRange(bucket, 'r.bin', 2, 3)).toString()).toBe('234');
      expect((await store.getRange(bucket, 'r.bin', 8, 10)).toString()).toBe('89');
      expect((await store.getRange(bucket, 'r.bin', 10, 5)).length).toBe(0);
      await expect(store.getRange(bucket, 'missing', 0, 1)).rejects.toBeInstanceOf(ObjectNotFoundError);
    });

    it('names the missing object in ObjectNotFoundError', async () => {
      const bucket = kb();
      const err = await store.get(bucket, 'nope/missing.pdf').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ObjectNotFoundError);
      expect((err as ObjectNotFoundError).message).toBe(`object not found: ${bucket}/nope/missing.pdf`);
      expect((err as ObjectNotFoundError).retryable).toBe(false);
      await expect(store.stat(bucket, 'x')).rejects.toBeInstanceOf(ObjectNotFoundError);
      expect(await store.exists(bucket, 'x')).toBe(false);
    });

    it('remove deletes and is idempotent', async () => {
      const bucket = kb();
      await store.put(bucket, 'a/b.txt', Buffer.from('x'));
      await store.remove(bucket, 'a/b.txt');
      expect(await store.exists(bucket, 'a/b.txt')).toBe(false);
      await store.remove(bucket, 'a/b.txt');
      await store.remove(kb(), 'never-existed');
    });

    it('uniqueName appends "_" while the name is taken, as RAGFlow uploads do', async () => {
      const bucket = kb();
      expect(await store.uniqueName(bucket, 'doc.pdf')).toBe('doc.pdf');
      await store.put(bucket, 'doc.pdf', Buffer.from('1'));
      expect(await store.uniqueName(bucket, 'doc.pdf')).toBe('doc.pdf_');
      await store.put(bucket, 'doc.pdf_', Buffer.from('2'));
      expect(await store.uniqueName(bucket, 'doc.pdf')).toBe('doc.pdf__');
    });

    it('maxBytes refuses larger objects before reading them', async () => {
      const bucket = kb();
      await store.put(bucket, 'big.bin', Buffer.alloc(1000, 1));
      const err = await store.get(bucket, 'big.bin', { maxBytes: 999 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ObjectTooLargeError);
      expect(err).toMatchObject({ size: 1000, maxBytes: 999, retryable: false });
      expect((await store.get(bucket, 'big.bin', { maxBytes: 1000 })).length).toBe(1000);
      await expect(store.get(bucket, 'missing', { maxBytes: 10 })).rejects.toBeInstanceOf(ObjectNotFoundError);
    });

    it('rejects names that could escape or are malformed', async () => {
      const bucket = kb();
      const badNames = ['../x', 'a/../../x', '/etc/passwd', 'a//b', 'a/', './a', 'a\\..\\b', 'nul\0byte', ''];
      for (const name of badNames) {
        await expect(store.put(bucket, name, Buffer.from('x')), name).rejects.toBeInstanceOf(InvalidKeyError);
        await expect(store.get(bucket, name), name).rejects.toBeInstanceOf(InvalidKeyError);
        await expect(store.exists(bucket, name), name).rejects.toBeInstanceOf(InvalidKeyError);
        await expect(store.remove(bucket, name), name).rejects.toBeInstanceOf(InvalidKeyError);
      }
      for (const badBucket of ['..', '.', 'a/b', '', 'x\\y']) {
        await expect(store.put(badBucket, 'n', Buffer.from('x')), badBucket).rejects.toBeInstanceOf(InvalidKeyError);
      }
      // a dot inside a segment is just a file name
      await store.put(bucket, 'a..b/..c', Buffer.from('ok'));
      expect((await store.get(bucket, 'a..b/..c')).toString()).toBe('ok');
    });
  });
}
