export * from './index-batch.js';
export * from './doc-store.js';
