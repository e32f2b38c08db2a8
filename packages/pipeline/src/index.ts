// Everything, for the CLI and tests. Apps import their stage's entry (`@ragline/pipeline/parser`...)
// plus `@ragline/pipeline/runtime`, so a stage's image only needs that stage's backends.
export * from './runtime/index.js';
export * from './bridge/index.js';
export * from './parser/index.js';
export * from './enricher/index.js';
export * from './embedder/index.js';
export * from './indexer/index.js';
export * from './monitor/index.js';
