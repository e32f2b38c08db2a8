export * from './health.js';
export * from './lifecycle.js';
export * from './diagnostics.js';
export * from './fatal.js';
