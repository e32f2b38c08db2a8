export * from './parse-task.js';
export * from './object-store.js';
export * from './tokenizer.js';
