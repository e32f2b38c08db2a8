export { ModelCallError, isRetryableError, retryAfterMsOf, type ModelErrorInit, type MakeModelError } from './errors.js';
export {
  RETRYABLE_STATUS,
  splitCredentials,
  joinRoute,
  parseRetryAfter,
  serverErrorText,
  sleep,
  statusFailure,
  jsonEndpoint,
  retrying,
  type JsonEndpoint,
  type JsonEndpointOptions,
  type RetryOptions,
} from './http.js';
export { CircuitBreaker, CircuitOpenError, type BreakerState, type CircuitBreakerOptions } from './breaker.js';
