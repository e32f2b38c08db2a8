// What every stage process shares (no stage's backends): each app imports only its own stage's entry,
// so its image carries only the dependencies that stage needs.
export * from './runtime.js';
export * from './lifecycle.js';
export * from './stage.js';
export * from './cancel.js';
export * from './batches.js';
export * from './progress.js';
export * from './dependencies.js';
