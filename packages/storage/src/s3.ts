import type { Readable } from 'node:stream';
import { Client, S3Error } from 'minio';
import {
  InvalidKeyError,
  ObjectNotFoundError,
  ObjectTooLargeError,
  StorageAccessError,
  StorageError,
  StorageUnavailableError,
} from './errors.js';
import { validateBucket, validateObjectName } from './keys.js';
import { checkRange, existsByStat, uniqueNameWith, type GetOptions, type ObjectStore } from './types.js';

export interface S3StoreOptions {
  /** host name or IP, without scheme (see parseS3Endpoint) */
  endPoint: string;
  /** default 80, or 443 with useSSL */
  port?: number;
  /** default false */
  useSSL?: boolean;
  accessKey: string;
  secretKey: string;
  /** default 'us-east-1' */
  region?: string;
  /** single physical bucket mode (RAGFlow `minio.bucket`): logical buckets become key prefixes */
  bucket?: string;
  /** RAGFlow `minio.prefix_path`: keys become `<prefixPath>/<bucket>/<name>` (single-bucket mode) */
  prefixPath?: string;
  /** force path-style requests; the minio client picks virtual-host style for AWS endpoints otherwise */
  pathStyle?: boolean;
}

/** S3/MinIO through the `minio` client, with RAGFlow's addressing (docs/ragflow-compatibility.md §10 Storage addressing). */
export function createS3Store(opts: S3StoreOptions): ObjectStore {
  return new S3Store(opts);
}

/** `http://127.0.0.1:9000` -> { endPoint, port, useSSL } for createS3Store (an S3_ENDPOINT setting). */
export function parseS3Endpoint(url: string): { endPoint: string; port: number; useSSL: boolean } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TypeError('S3 endpoint is not a URL (expected e.g. http://127.0.0.1:9000)');
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new TypeError(`S3 endpoint must be http:// or https://, got ${parsed.protocol}//`);
  }
  if (parsed.username || parsed.password) {
    throw new TypeError('S3 endpoint must not carry credentials; set the access and secret keys separately');
  }
  if (parsed.pathname !== '/' && parsed.pathname !== '') throw new TypeError(`S3 endpoint must not have a path: ${parsed.pathname}`);
  const useSSL = parsed.protocol === 'https:';
  return {
    endPoint: parsed.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: parsed.port ? Number(parsed.port) : useSSL ? 443 : 80,
    useSSL,
  };
}

const NOT_FOUND = new Set(['NoSuchKey', 'NotFound', 'NoSuchBucket', 'NoSuchObject']);
const ACCESS = new Set(['AccessDenied', 'InvalidAccessKeyId', 'SignatureDoesNotMatch', 'InvalidToken', 'ExpiredToken']);
const SERVER_CODES = new Set(['InternalError', 'SlowDown', 'ServiceUnavailable', 'RequestTimeout', 'ServerBusy']);
const NETWORK = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNABORTED', 'UND_ERR_SOCKET']);

class S3Store implements ObjectStore {
  readonly kind = 's3' as const;
  private readonly client: Client;
  private readonly region: string;
  private readonly physicalBucket: string | undefined;
  private readonly prefixPath: string;
  private readonly secrets: string[];
  private readonly knownBuckets = new Map<string, Promise<void>>();

  constructor(opts: S3StoreOptions) {
    this.region = opts.region ?? 'us-east-1';
    this.physicalBucket = opts.bucket || undefined;
    this.prefixPath = (opts.prefixPath ?? '').replace(/^\/+|\/+$/g, '');
    if (this.prefixPath && !this.physicalBucket) {
      throw new TypeError('prefixPath needs a single physical bucket (bucket option), as in RAGFlow');
    }
    if (this.prefixPath) validateObjectName(this.prefixPath);
    this.secrets = [opts.accessKey, opts.secretKey].filter((s) => s.length >= 3);
    this.client = new Client({
      endPoint: opts.endPoint,
      port: opts.port ?? (opts.useSSL ? 443 : 80),
      useSSL: opts.useSSL ?? false,
      accessKey: opts.accessKey,
      secretKey: opts.secretKey,
      region: this.region,
      // retries belong to the caller (the bus redelivers retryable errors); minio's own retry also logs to the console
      retryOptions: { disableRetry: true },
      ...(opts.pathStyle !== undefined ? { pathStyle: opts.pathStyle } : {}),
    });
  }

  async get(bucket: string, name: string, opts: GetOptions = {}): Promise<Buffer> {
    const [b, key] = this.address(bucket, name);
    try {
      if (opts.maxBytes !== undefined) {
        const { size } = await this.client.statObject(b, key);
        if (size > opts.maxBytes) throw new ObjectTooLargeError(bucket, name, size, opts.maxBytes);
        if (size === 0) return Buffer.alloc(0);
        // only the checked size is requested and read, even if the object is replaced meanwhile
        return await collect(await this.client.getPartialObject(b, key, 0, size), size);
      }
      return await collect(await this.client.getObject(b, key));
    } catch (err) {
      throw this.translate(err, 'get', bucket, name);
    }
  }

  async getRange(bucket: string, name: string, offset: number, length: number): Promise<Buffer> {
    checkRange(offset, length);
    const [b, key] = this.address(bucket, name);
    if (length === 0) {
      await this.stat(bucket, name);
      return Buffer.alloc(0);
    }
    try {
      return await collect(await this.client.getPartialObject(b, key, offset, length), length);
    } catch (err) {
      // a range starting at or past the end: S3 answers 416 InvalidRange
      if (err instanceof S3Error && err.code === 'InvalidRange') {
        await this.stat(bucket, name);
        return Buffer.alloc(0);
      }
      throw this.translate(err, 'get', bucket, name);
    }
  }

  async put(bucket: string, name: string, data: Buffer | Uint8Array): Promise<void> {
    const [b, key] = this.address(bucket, name);
    try {
      if (!this.physicalBucket) await this.ensureBucket(b);
      const buffer = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
      await this.client.putObject(b, key, buffer, buffer.length);
    } catch (err) {
      throw this.translate(err, 'put', bucket, name);
    }
  }

  exists(bucket: string, name: string): Promise<boolean> {
    return existsByStat(() => this.stat(bucket, name));
  }

  async stat(bucket: string, name: string): Promise<{ size: number }> {
    const [b, key] = this.address(bucket, name);
    try {
      const info = await this.client.statObject(b, key);
      return { size: info.size };
    } catch (err) {
      throw this.translate(err, 'stat', bucket, name);
    }
  }

  async remove(bucket: string, name: string): Promise<void> {
    const [b, key] = this.address(bucket, name);
    try {
      await this.client.removeObject(b, key);
    } catch (err) {
      const translated = this.translate(err, 'remove', bucket, name);
      if (translated instanceof ObjectNotFoundError) return;
      throw translated;
    }
  }

  uniqueName(bucket: string, name: string): Promise<string> {
    this.address(bucket, name);
    return uniqueNameWith((candidate) => this.exists(bucket, candidate), name);
  }

  async health(): Promise<void> {
    try {
      if (this.physicalBucket) {
        if (!(await this.client.bucketExists(this.physicalBucket))) {
          throw new StorageError(`bucket ${this.physicalBucket} does not exist`, false);
        }
      } else {
        await this.client.listBuckets();
      }
    } catch (err) {
      throw this.translate(err, 'health check', '', '');
    }
  }

  /** RAGFlow's addressing: (bucket, name), or (physical bucket, "[prefix/]bucket/name") in single-bucket mode. */
  private address(bucket: string, name: string): [string, string] {
    validateBucket(bucket);
    validateObjectName(name);
    if (this.physicalBucket) {
      return [this.physicalBucket, [this.prefixPath, bucket, name].filter(Boolean).join('/')];
    }
    if (!isValidS3BucketName(bucket)) throw new InvalidKeyError(`not a valid S3 bucket name: ${JSON.stringify(bucket.slice(0, 80))}`);
    return [bucket, name];
  }

  private ensureBucket(bucket: string): Promise<void> {
    let known = this.knownBuckets.get(bucket);
    if (!known) {
      known = (async () => {
        if (await this.client.bucketExists(bucket)) return;
        try {
          await this.client.makeBucket(bucket, this.region);
        } catch (err) {
          // another replica created it first
          if (err instanceof S3Error && (err.code === 'BucketAlreadyOwnedByYou' || err.code === 'BucketAlreadyExists')) return;
          throw err;
        }
      })();
      this.knownBuckets.set(bucket, known);
      known.catch(() => this.knownBuckets.delete(bucket));
    }
    return known;
  }

  /** Maps minio/network errors to storage errors whose messages carry no credentials. */
  private translate(err: unknown, op: string, bucket: string, name: string): Error {
    if (err instanceof StorageError) return err;
    const where = bucket ? ` ${bucket}/${name}` : '';
    const e = err as { code?: string; message?: string; name?: string; statusCode?: number; cause?: { code?: string } };
    const code = e?.code ?? e?.cause?.code ?? '';
    const detail = this.redact(code ? `${code}: ${e?.message ?? ''}` : (e?.message ?? String(err)));
    if (NOT_FOUND.has(code)) return new ObjectNotFoundError(bucket, name);
    if (ACCESS.has(code)) return new StorageAccessError(`S3 ${op}${where} refused: ${detail}`);
    if (e?.name === 'InvalidBucketNameError' || e?.name === 'InvalidObjectNameError') {
      return new InvalidKeyError(`S3 ${op}${where}: ${detail}`);
    }
    // minio gives S3Error no status: 5xx answers carry these codes, or none at all when a proxy answered
    const serverTrouble = err instanceof S3Error && (code === '' || SERVER_CODES.has(code));
    const retryExhausted = /Retryable HTTP status|Request failed after/.test(e?.message ?? '');
    if (NETWORK.has(code) || serverTrouble || retryExhausted || (e?.statusCode ?? 0) >= 500) {
      return new StorageUnavailableError(`S3 ${op}${where} failed: ${detail || 'server error'}`);
    }
    return new StorageError(`S3 ${op}${where} failed: ${detail}`, !(err instanceof S3Error));
  }

  private redact(text: string): string {
    let out = text;
    for (const secret of this.secrets) out = out.split(secret).join('***');
    return out;
  }
}

/** S3 bucket naming rules (3-63 chars, lower-case letters, digits, dots, hyphens; not an IP address). */
function isValidS3BucketName(bucket: string): boolean {
  return (
    /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket) &&
    !bucket.includes('..') &&
    !bucket.includes('.-') &&
    !bucket.includes('-.') &&
    !/^\d+\.\d+\.\d+\.\d+$/.test(bucket)
  );
}

/** Reads a stream into one Buffer, stopping after `limit` bytes. */
async function collect(stream: Readable, limit?: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of stream) {
      let buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
      if (limit !== undefined && total + buf.length > limit) buf = buf.subarray(0, limit - total);
      chunks.push(buf);
      total += buf.length;
      if (limit !== undefined && total >= limit) break;
    }
  } finally {
    stream.destroy();
  }
  return Buffer.concat(chunks, total);
}
