import type { ChunkMethodModule } from './method.js';

/** Every chunking method beyond naive / table / one, by RAGFlow parser_id. */
export const METHODS: readonly ChunkMethodModule[] = [];

export function methodFor(parserId: string): ChunkMethodModule | undefined {
  return METHODS.find((m) => m.id === parserId);
}

export type { ChunkMethodModule } from './method.js';
