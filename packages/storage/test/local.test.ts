import { mkdir, readFile, readdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InvalidKeyError, StorageUnavailableError, createLocalStore, createObjectStore, type ObjectStore } from '../src/index.js';
import { objectStoreBehaviour } from './behaviour.js';
import { tempDir } from './helpers.js';

objectStoreBehaviour('local folder', async () => {
  const { dir, cleanup } = await tempDir();
  return { store: createLocalStore({ root: join(dir, 'objects') }), teardown: cleanup };
});

describe('local store', () => {
  let dir: string;
  let root: string;
  let cleanup: () => Promise<void>;
  let store: ObjectStore;

  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir());
    root = join(dir, 'root');
    store = createLocalStore({ root });
  });
  afterEach(() => cleanup());

  it('stores <root>/<bucket>/<name>', async () => {
    await store.put('kb1', 'folder/a.txt', Buffer.from('hello'));
    expect(await readFile(join(root, 'kb1', 'folder', 'a.txt'), 'utf8')).toBe('hello');
    expect(store.kind).toBe('local');
  });

  it('never follows a symbolic link out of the root', async () => {
    const outside = join(dir, 'outside');
    await mkdir(outside);
    await writeFile(join(outside, 'secret'), 'top secret');
    await mkdir(join(root, 'kb1'), { recursive: true });
    await symlink(outside, join(root, 'kb1', 'link'));
    await symlink(join(outside, 'secret'), join(root, 'kb1', 'file-link'));
    await symlink(outside, join(root, 'evil'));

    await expect(store.get('kb1', 'link/secret')).rejects.toBeInstanceOf(InvalidKeyError);
    await expect(store.get('kb1', 'file-link')).rejects.toBeInstanceOf(InvalidKeyError);
    await expect(store.get('evil', 'secret')).rejects.toBeInstanceOf(InvalidKeyError);
    await expect(store.stat('evil', 'secret')).rejects.toBeInstanceOf(InvalidKeyError);
    await expect(store.put('kb1', 'link/new', Buffer.from('x'))).rejects.toBeInstanceOf(InvalidKeyError);
    await expect(store.put('kb1', 'link/deeper/new', Buffer.from('x'))).rejects.toBeInstanceOf(InvalidKeyError);
    await expect(store.put('evil', 'secret', Buffer.from('overwritten'))).rejects.toBeInstanceOf(InvalidKeyError);
    await expect(store.remove('evil', 'secret')).rejects.toBeInstanceOf(InvalidKeyError);
    expect((await readdir(outside)).sort()).toEqual(['secret']);
    expect(await readFile(join(outside, 'secret'), 'utf8')).toBe('top secret');

    // a link that stays inside the root is fine
    await store.put('kb2', 'real.txt', Buffer.from('inside'));
    await symlink(join(root, 'kb2'), join(root, 'kb3'));
    expect((await store.get('kb3', 'real.txt')).toString()).toBe('inside');
  });

  it('writes atomically: concurrent readers see the old or the new object, never a mix', async () => {
    const a = Buffer.alloc(1 << 20, 'a');
    const b = Buffer.alloc(1 << 20, 'b');
    await store.put('kb', 'f.bin', a);
    let writing = true;
    const writer = (async () => {
      for (let i = 0; i < 20; i++) await store.put('kb', 'f.bin', i % 2 ? a : b);
      writing = false;
    })();
    let reads = 0;
    while (writing) {
      const got = await store.get('kb', 'f.bin');
      expect(got.length).toBe(1 << 20);
      expect(got.equals(a) || got.equals(b)).toBe(true);
      reads++;
    }
    await writer;
    expect(reads).toBeGreaterThan(0);
    // no temp files left behind
    expect(await readdir(join(root, 'kb'))).toEqual(['f.bin']);
  });

  it('a failed write leaves no temp file and the target untouched', async () => {
    // the target is a non-empty folder: the final rename fails
    await store.put('kb', 'taken/inner.txt', Buffer.from('keep'));
    await expect(store.put('kb', 'taken', Buffer.from('x'))).rejects.toMatchObject({ name: 'StorageError', retryable: false });
    // and a file where a folder is needed
    await expect(store.put('kb', 'taken/inner.txt/deeper', Buffer.from('x'))).rejects.toMatchObject({
      message: expect.stringMatching(/conflicts/),
    });
    expect(await readdir(join(root, 'kb'))).toEqual(['taken']);
    expect((await store.get('kb', 'taken/inner.txt')).toString()).toBe('keep');
  });

  it('health fails on a root that cannot be a folder', async () => {
    await writeFile(join(dir, 'a-file'), '');
    const broken = createLocalStore({ root: join(dir, 'a-file', 'objects') });
    await expect(broken.health()).rejects.toBeInstanceOf(StorageUnavailableError);
  });

  it('health creates the root; createObjectStore picks local without an endpoint', async () => {
    await store.health();
    expect(await readdir(root)).toEqual([]);
    const viaConfig = createObjectStore({ localRoot: join(dir, 'cfg') });
    expect(viaConfig.kind).toBe('local');
    await viaConfig.put('b', 'n', Buffer.from('1'));
    expect(await readFile(join(dir, 'cfg', 'b', 'n'), 'utf8')).toBe('1');
  });
});
