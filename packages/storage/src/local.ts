import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { access, mkdir, open, realpath, rename, stat, unlink } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { InvalidKeyError, ObjectNotFoundError, ObjectTooLargeError, StorageError, StorageUnavailableError } from './errors.js';
import { validateBucket, validateObjectName } from './keys.js';
import { checkRange, existsByStat, uniqueNameWith, type GetOptions, type ObjectStore } from './types.js';

export interface LocalStoreOptions {
  /** folder holding `<bucket>/<name>`; created when missing */
  root: string;
}

/** Objects as files under `<root>/<bucket>/<name>`; nothing outside root is ever read or written. */
export function createLocalStore(opts: LocalStoreOptions): ObjectStore {
  return new LocalStore(resolve(opts.root));
}

class LocalStore implements ObjectStore {
  readonly kind = 'local' as const;
  private realRoot: Promise<string> | undefined;

  constructor(private readonly root: string) {}

  async get(bucket: string, name: string, opts: GetOptions = {}): Promise<Buffer> {
    const path = await this.existingPath(bucket, name);
    const handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW).catch((err: unknown) => {
      throw this.fsError(err, bucket, name);
    });
    try {
      // size from the open descriptor: what is checked is what gets read
      const { size, isFile } = await handle.stat().then((s) => ({ size: s.size, isFile: s.isFile() }));
      if (!isFile) throw new ObjectNotFoundError(bucket, name);
      if (opts.maxBytes !== undefined && size > opts.maxBytes) throw new ObjectTooLargeError(bucket, name, size, opts.maxBytes);
      return await readExactly(handle, 0, size);
    } catch (err) {
      throw this.fsError(err, bucket, name);
    } finally {
      await handle.close();
    }
  }

  async getRange(bucket: string, name: string, offset: number, length: number): Promise<Buffer> {
    checkRange(offset, length);
    const path = await this.existingPath(bucket, name);
    const handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW).catch((err: unknown) => {
      throw this.fsError(err, bucket, name);
    });
    try {
      const size = (await handle.stat()).size;
      return await readExactly(handle, offset, Math.max(0, Math.min(length, size - offset)));
    } catch (err) {
      throw this.fsError(err, bucket, name);
    } finally {
      await handle.close();
    }
  }

  async put(bucket: string, name: string, data: Buffer | Uint8Array): Promise<void> {
    const path = this.pathOf(bucket, name);
    const dir = dirname(path);
    try {
      // mkdir -p would follow a symlinked folder out of root: check the deepest existing folder first
      await this.realRootPath();
      await this.assertInside(await deepestExisting(dir), bucket, name);
      await mkdir(dir, { recursive: true });
      await this.assertInside(await realpath(dir), bucket, name);
      const temp = join(dir, `.${randomBytes(6).toString('hex')}.ragline-tmp`);
      const handle = await open(temp, 'wx', 0o644);
      try {
        await handle.writeFile(data);
        await handle.sync();
        await handle.close();
        // rename is atomic within a file system: readers see the old object or the new one, never half of it
        await rename(temp, path);
      } catch (err) {
        await handle.close().catch(() => {});
        await unlink(temp).catch(() => {});
        throw err;
      }
    } catch (err) {
      throw this.putError(err, bucket, name);
    }
  }

  exists(bucket: string, name: string): Promise<boolean> {
    return existsByStat(() => this.stat(bucket, name));
  }

  async stat(bucket: string, name: string): Promise<{ size: number }> {
    const path = await this.existingPath(bucket, name);
    try {
      const info = await stat(path);
      if (!info.isFile()) throw new ObjectNotFoundError(bucket, name);
      return { size: info.size };
    } catch (err) {
      throw this.fsError(err, bucket, name);
    }
  }

  async remove(bucket: string, name: string): Promise<void> {
    const path = this.pathOf(bucket, name);
    try {
      await this.assertInside(await realpath(dirname(path)), bucket, name);
      await unlink(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw this.fsError(err, bucket, name);
    }
  }

  uniqueName(bucket: string, name: string): Promise<string> {
    validateBucket(bucket);
    validateObjectName(name);
    return uniqueNameWith((candidate) => this.exists(bucket, candidate), name);
  }

  async health(): Promise<void> {
    try {
      await mkdir(this.root, { recursive: true });
      await access(this.root, constants.R_OK | constants.W_OK);
    } catch (err) {
      throw new StorageUnavailableError(`local storage folder ${this.root} is not usable: ${(err as Error).message}`, { cause: err });
    }
  }

  /** Validated, lexically contained path; symlinks are checked separately against the real root. */
  private pathOf(bucket: string, name: string): string {
    validateBucket(bucket);
    const segments = validateObjectName(name);
    const path = resolve(this.root, bucket, ...segments);
    if (!isInside(this.root, path)) throw new InvalidKeyError(`object ${bucket}/${name} resolves outside the storage folder`);
    return path;
  }

  /** Path of an object that must exist, with every symlink on the way resolved and checked. */
  private async existingPath(bucket: string, name: string): Promise<string> {
    const path = this.pathOf(bucket, name);
    let real: string;
    try {
      real = await realpath(path);
    } catch (err) {
      throw this.fsError(err, bucket, name);
    }
    await this.assertInside(real, bucket, name);
    return real;
  }

  /** The root, created when missing, with its own symlinks resolved (a root that is itself a link is fine). */
  private realRootPath(): Promise<string> {
    this.realRoot ??= mkdir(this.root, { recursive: true }).then(() => realpath(this.root));
    this.realRoot.catch(() => (this.realRoot = undefined));
    return this.realRoot;
  }

  private async assertInside(realPath: string, bucket: string, name: string): Promise<void> {
    const root = await this.realRootPath();
    if (realPath !== root && !isInside(root, realPath)) {
      throw new InvalidKeyError(`object ${bucket}/${name} resolves outside the storage folder (symbolic link)`);
    }
  }

  /** On write, a file where a folder is needed (or the reverse) is a naming conflict, not a missing object. */
  private putError(err: unknown, bucket: string, name: string): Error {
    const code = (err as NodeJS.ErrnoException)?.code;
    if (code === 'ENOTDIR' || code === 'EISDIR' || code === 'ENOTEMPTY' || code === 'EEXIST') {
      return new StorageError(`cannot store ${bucket}/${name}: a path segment conflicts with an existing object or folder (${code})`, false);
    }
    if (code === 'ENOENT') return new StorageUnavailableError(`local storage folder vanished while storing ${bucket}/${name}`);
    return this.fsError(err, bucket, name);
  }

  private fsError(err: unknown, bucket: string, name: string): Error {
    if (err instanceof Error && 'retryable' in err) return err;
    const code = (err as NodeJS.ErrnoException)?.code;
    // ENOTDIR: a path segment is a file; ELOOP: O_NOFOLLOW met a symlink swapped in after the check
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR') return new ObjectNotFoundError(bucket, name);
    if (code === 'ELOOP') return new InvalidKeyError(`object ${bucket}/${name} is a symbolic link`);
    return new StorageUnavailableError(`local storage error on ${bucket}/${name}: ${(err as Error)?.message ?? String(err)}`, {
      cause: err,
    });
  }
}

function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel !== '' && !rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel);
}

async function deepestExisting(dir: string): Promise<string> {
  for (let current = dir; ; current = dirname(current)) {
    try {
      return await realpath(current);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || dirname(current) === current) throw err;
    }
  }
}

async function readExactly(handle: import('node:fs/promises').FileHandle, offset: number, length: number): Promise<Buffer> {
  const buffer = Buffer.alloc(length);
  let read = 0;
  while (read < length) {
    const { bytesRead } = await handle.read(buffer, read, length - read, offset + read);
    if (bytesRead === 0) break;
    read += bytesRead;
  }
  return read === length ? buffer : buffer.subarray(0, read);
}
