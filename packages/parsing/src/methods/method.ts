import type { FormatParser } from '../formats/format.js';
import type { MergedChunk, ParsedDocument } from '../types.js';

/**
 * One RAGFlow chunking method beyond the built-in naive / table / one (rag/app/<method>.py). Adding
 * a method = one module under methods/ plus one row in methods/index.ts.
 */
export interface ChunkMethodModule {
  /** the RAGFlow parser_id it answers to (lower case) */
  readonly id: string;
  /** whether it reads a file of this format id; for other formats the task falls back to `naive` with a note */
  readsFormat(formatId: string): boolean;
  /** the format to parse with instead of the one the file's name and bytes say (e.g. a text file read as Q/A lines) */
  formatFor?(named: FormatParser): FormatParser;
  /**
   * The chunks of a parsed document. A chunk's `fields` set RAGFlow fields the method fills itself
   * (question_kwd, a content_ltks made from part of the text, top_int, ...).
   */
  chunk(doc: ParsedDocument, parserConfig: Record<string, unknown>): MergedChunk[];
}

/**
 * Fields of a chunk RAGFlow builds with `tokenize()` alone (qa, tag, manual on DOCX), which sets no
 * page_num_int / position_int: empty here, since the chunk contract requires both (buildChunks would
 * otherwise number the chunk as tokenize_chunks does). A method adds its own top_int, if any.
 */
export const UNPLACED: Readonly<Record<string, unknown>> = Object.freeze({ page_num_int: [], position_int: [] });
