export * from './enrich-batch.js';
