export * from './logger.js';
export * from './tracing.js';
export * from './messaging.js';
