import { ObjectNotFoundError } from './errors.js';

export interface GetOptions {
  /** refuse (ObjectTooLargeError) objects bigger than this, checked before any byte is read */
  maxBytes?: number;
}

/**
 * Object storage addressed as RAGFlow does: bucket = kb_id (or folder id), name = document location.
 * Every method validates both names (InvalidKeyError) before touching the backend.
 */
export interface ObjectStore {
  readonly kind: 'local' | 's3';
  /** the whole object; ObjectNotFoundError when missing */
  get(bucket: string, name: string, opts?: GetOptions): Promise<Buffer>;
  /** `length` bytes from `offset` (fewer at the end of the object) */
  getRange(bucket: string, name: string, offset: number, length: number): Promise<Buffer>;
  /** creates or replaces; readers never see a partial object */
  put(bucket: string, name: string, data: Buffer | Uint8Array): Promise<void>;
  exists(bucket: string, name: string): Promise<boolean>;
  stat(bucket: string, name: string): Promise<{ size: number }>;
  /** idempotent: removing a missing object is not an error (as in S3) */
  remove(bucket: string, name: string): Promise<void>;
  /** RAGFlow's upload naming: appends "_" to the name while an object with that name exists */
  uniqueName(bucket: string, name: string): Promise<string>;
  /** resolves when the backend is reachable and usable */
  health(): Promise<void>;
}

export async function uniqueNameWith(exists: (name: string) => Promise<boolean>, name: string): Promise<string> {
  let candidate = name;
  while (await exists(candidate)) candidate += '_';
  return candidate;
}

/** exists() from stat(): true when stat succeeds, false when the object is missing, other errors thrown */
export async function existsByStat(stat: () => Promise<unknown>): Promise<boolean> {
  try {
    await stat();
    return true;
  } catch (err) {
    if (err instanceof ObjectNotFoundError) return false;
    throw err;
  }
}

export function checkRange(offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || offset < 0) throw new RangeError(`invalid offset ${offset}`);
  if (!Number.isSafeInteger(length) || length < 0) throw new RangeError(`invalid length ${length}`);
}
