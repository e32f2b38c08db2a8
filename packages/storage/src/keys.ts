import { InvalidKeyError } from './errors.js';

/** S3's limit on key length, applied to local names too so both backends accept the same keys. */
const MAX_NAME_BYTES = 1024;

/**
 * A logical bucket (RAGFlow: kb_id or a folder id): one non-empty path segment. The S3 store checks
 * S3's stricter bucket-name rules on top in multi-bucket mode.
 */
export function validateBucket(bucket: string): void {
  if (typeof bucket !== 'string' || bucket.length === 0) throw new InvalidKeyError('bucket name is empty');
  checkChars(bucket, 'bucket');
  if (bucket.includes('/')) throw new InvalidKeyError(`bucket name contains "/": ${show(bucket)}`);
  if (bucket === '.' || bucket === '..') throw new InvalidKeyError(`bucket name is a relative path segment: ${show(bucket)}`);
}

/**
 * An object name (RAGFlow: document location, possibly "<folder>/<file>"): relative, "/"-separated,
 * no empty, "." or ".." segments, no backslash or NUL. Returns its segments.
 */
export function validateObjectName(name: string): string[] {
  if (typeof name !== 'string' || name.length === 0) throw new InvalidKeyError('object name is empty');
  checkChars(name, 'object');
  if (name.startsWith('/')) throw new InvalidKeyError(`object name is absolute: ${show(name)}`);
  if (Buffer.byteLength(name) > MAX_NAME_BYTES) throw new InvalidKeyError(`object name is over ${MAX_NAME_BYTES} bytes`);
  const segments = name.split('/');
  for (const segment of segments) {
    if (segment === '') throw new InvalidKeyError(`object name has an empty path segment: ${show(name)}`);
    if (segment === '.' || segment === '..') throw new InvalidKeyError(`object name has a "${segment}" segment: ${show(name)}`);
  }
  return segments;
}

function checkChars(value: string, what: string): void {
  if (value.includes('\0')) throw new InvalidKeyError(`${what} name contains NUL`);
  if (value.includes('\\')) throw new InvalidKeyError(`${what} name contains a backslash: ${show(value)}`);
}

/** Names go into messages JSON-quoted and cut, so control characters and huge inputs stay readable. */
function show(value: string): string {
  return JSON.stringify(value.length > 200 ? `${value.slice(0, 200)}...` : value);
}
