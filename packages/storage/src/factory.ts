import { createLocalStore } from './local.js';
import { createS3Store, parseS3Endpoint } from './s3.js';
import type { ObjectStore } from './types.js';

/** The object-storage part of Ragline's settings (S3_* env vars / RAGFlow's `minio` section). */
export interface ObjectStoreConfig {
  /** e.g. http://127.0.0.1:9000; unset: the local folder */
  endpoint?: string;
  accessKey?: string;
  secretKey?: string;
  region?: string;
  bucket?: string;
  prefixPath?: string;
  /** folder used when no endpoint is set */
  localRoot: string;
}

/** S3/MinIO when an endpoint is configured, else a local folder (Ragline's default). */
export function createObjectStore(config: ObjectStoreConfig): ObjectStore {
  if (!config.endpoint) return createLocalStore({ root: config.localRoot });
  if (!config.accessKey || !config.secretKey) throw new TypeError('S3 endpoint configured without access key and secret key');
  return createS3Store({
    ...parseS3Endpoint(config.endpoint),
    accessKey: config.accessKey,
    secretKey: config.secretKey,
    ...(config.region ? { region: config.region } : {}),
    ...(config.bucket ? { bucket: config.bucket } : {}),
    ...(config.prefixPath ? { prefixPath: config.prefixPath } : {}),
  });
}
