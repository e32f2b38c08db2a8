import { bookMethod } from './book.js';
import { emailMethod } from './email.js';
import { knowledgeGraphMethod } from './knowledge-graph.js';
import { lawsMethod } from './laws.js';
import { manualMethod } from './manual.js';
import type { ChunkMethodModule } from './method.js';
import { paperMethod } from './paper.js';
import { pictureMethod } from './picture.js';
import { presentationMethod } from './presentation.js';
import { qaMethod } from './qa.js';
import { tagMethod } from './tag.js';
import { audioMethod, resumeMethod } from './unavailable.js';

/** Every chunking method beyond naive / table / one, by RAGFlow parser_id. */
export const METHODS: readonly ChunkMethodModule[] = [
  qaMethod,
  emailMethod,
  presentationMethod,
  lawsMethod,
  bookMethod,
  tagMethod,
  pictureMethod,
  manualMethod,
  paperMethod,
  knowledgeGraphMethod,
  resumeMethod,
  audioMethod,
];

export function methodFor(parserId: string): ChunkMethodModule | undefined {
  return METHODS.find((m) => m.id === parserId);
}

export type { ChunkMethodModule } from './method.js';
