/** A deploy file could not be read or parsed at all; fixing the file is the only remedy. */
export class DeployFileError extends Error {
  readonly retryable = false;
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
    this.name = 'DeployFileError';
  }
}
