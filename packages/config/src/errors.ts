/** Bad configuration: the message names every offending key; values of secret keys are never echoed. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly retryable = false;
  constructor(
    readonly keys: string[],
    message: string,
  ) {
    super(message);
  }
}
