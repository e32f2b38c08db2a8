/** Base of every storage error; `retryable` says whether the same call may succeed later. */
export class StorageError extends Error {
  override name = 'StorageError';
  constructor(
    message: string,
    readonly retryable: boolean,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export class ObjectNotFoundError extends StorageError {
  override name = 'ObjectNotFoundError';
  constructor(
    readonly bucket: string,
    readonly objectName: string,
  ) {
    super(`object not found: ${bucket}/${objectName}`, false);
  }
}

/** A bucket or object name that could escape its folder or is not a valid key. */
export class InvalidKeyError extends StorageError {
  override name = 'InvalidKeyError';
  constructor(message: string) {
    super(message, false);
  }
}

export class ObjectTooLargeError extends StorageError {
  override name = 'ObjectTooLargeError';
  constructor(
    readonly bucket: string,
    readonly objectName: string,
    readonly size: number,
    readonly maxBytes: number,
  ) {
    super(`object ${bucket}/${objectName} is ${size} bytes, over the limit of ${maxBytes}`, false);
  }
}

/** Connection refused, timeouts, 5xx, disk I/O trouble: try again later. */
export class StorageUnavailableError extends StorageError {
  override name = 'StorageUnavailableError';
  constructor(message: string, options?: ErrorOptions) {
    super(message, true, options);
  }
}

/** Credentials rejected or access denied: retrying does not help until the configuration changes. */
export class StorageAccessError extends StorageError {
  override name = 'StorageAccessError';
  constructor(message: string) {
    super(message, false);
  }
}
