import { CircuitBreaker as SharedBreaker, type CircuitBreakerOptions } from '@ragline/model-http';
import { EmbeddingError } from './errors.js';

// The breaker itself lives in @ragline/model-http (the chat client uses it too); here it gives up
// with an EmbeddingError subclass, so the embedder's handling of embedding failures covers it.
export type { BreakerState, CircuitBreakerOptions } from '@ragline/model-http';

/** The circuit is open: the backend failed repeatedly and a call waited as long as it may. */
export class CircuitOpenError extends EmbeddingError {
  override readonly name: string = 'CircuitOpenError';
  constructor(message: string, retryAfterMs: number) {
    super(message, { retryable: true, retryAfterMs });
  }
}

/** Per-backend circuit breaker (see @ragline/model-http's CircuitBreaker) throwing embedding's CircuitOpenError. */
export class CircuitBreaker extends SharedBreaker {
  constructor(opts: CircuitBreakerOptions = {}) {
    super({ openError: (message, retryAfterMs) => new CircuitOpenError(message, retryAfterMs), ...opts });
  }
}
