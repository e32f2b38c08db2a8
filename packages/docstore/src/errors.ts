/** A doc store operation failed as a whole; `retryable` says whether trying again can help. */
export class DocStoreError extends Error {
  override readonly name = 'DocStoreError';
  constructor(
    message: string,
    readonly retryable: boolean,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}
