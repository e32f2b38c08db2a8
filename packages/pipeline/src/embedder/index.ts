export * from './embed-batch.js';
