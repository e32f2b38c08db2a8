export type { ObjectStore, GetOptions } from './types.js';
export { createLocalStore, type LocalStoreOptions } from './local.js';
export { createS3Store, parseS3Endpoint, type S3StoreOptions } from './s3.js';
export { createObjectStore, type ObjectStoreConfig } from './factory.js';
export { validateBucket, validateObjectName } from './keys.js';
export {
  StorageError,
  ObjectNotFoundError,
  InvalidKeyError,
  ObjectTooLargeError,
  StorageUnavailableError,
  StorageAccessError,
} from './errors.js';
export { StorageSettings } from './settings.js';
