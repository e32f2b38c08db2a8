export * from './errors.js';
export * from './service-conf.js';
export * from './schema.js';
export { z } from 'zod';
