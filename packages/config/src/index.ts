export * from './errors.js';
export * from './service-conf.js';
export * from './schema.js';
export * from './private-stack.js';
export * from './settings-table.js';
export { z } from 'zod';
