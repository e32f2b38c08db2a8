import { formatFor } from './formats/index.js';
import { methodFor } from './methods/index.js';
import { mergeOptionsFromParserConfig, naiveMerge } from './merge.js';
import { countTokens } from '@ragline/tokenizer';
import type { ChunkMode, MergedChunk, ParsedDocument, Section } from './types.js';

/** The built-in chunking methods; the others (methods/) are named by their RAGFlow parser id. */
export type BuiltinMethod = 'naive' | 'table' | 'one';
/** A built-in method or the parser id of one in methods/; every other RAGFlow parser id falls back to `naive`. */
export type ChunkMethod = BuiltinMethod | (string & {});

export interface ParserPlan {
  method: ChunkMethod;
  /** why the method differs from the requested parser, for the task's progress; absent when it does not */
  note?: string;
}

/** Formats the table method can read (spreadsheets, CSV/TSV, and plain text as a delimited table). */
const TABLE_READABLE = new Set(['table', 'text']);

/**
 * Whether a file is read row by row under `parser_id == "table"` (spreadsheets, CSV/TSV, plain
 * text): the producer splits such files into row-range tasks with `tableRowCount`; any other file
 * under the table parser falls back to `naive` and gets one task.
 */
export function isTableFile(name: string): boolean {
  const format = formatFor(name);
  return format !== undefined && TABLE_READABLE.has(format.id);
}

export const CHUNK_MODE: Record<BuiltinMethod, ChunkMode> = { naive: 'merge', table: 'per_section', one: 'whole' };

/**
 * The chunking method for a RAGFlow `parser_id` and a format id. `naive`/`general` chunk by token
 * budget; `table` makes one chunk per row of a spreadsheet, CSV/TSV or tab-separated text (other
 * formats fall back to `naive` with a note); `one` makes the whole document (or task range) one
 * chunk. A method of methods/ (`qa`, `laws`, `book`, `manual`, ...) chunks the formats it reads itself
 * and falls back to `naive` with a note on the others (`resume` and `audio` read every format and fail
 * the task with why); any parser id without a module falls back to `naive` with a note.
 */
export function planParser(parserId: string, formatId: string): ParserPlan {
  const id = parserId.trim().toLowerCase() || 'naive';
  if (id === 'naive' || id === 'general') return { method: 'naive' };
  if (id === 'one') return { method: 'one' };
  if (id === 'table') {
    if (TABLE_READABLE.has(formatId)) return { method: 'table' };
    return {
      method: 'naive',
      note: `parser 'table' reads spreadsheets, CSV/TSV and text tables, not ${formatId} files; chunked with 'naive'`,
    };
  }
  const module = methodFor(id);
  if (module) {
    if (module.readsFormat(formatId)) return { method: module.id };
    return { method: 'naive', note: `parser '${module.id}' does not read ${formatId} files; chunked with 'naive'` };
  }
  return { method: 'naive', note: `parser '${parserId}' is not supported by Ragline; chunked with 'naive'` };
}

function chunkOf(sections: readonly Section[], text: string): MergedChunk {
  const pages: number[] = [];
  const positions: number[][] = [];
  const seen = new Set<string>();
  for (const s of sections) {
    if (s.page !== undefined && !pages.includes(s.page)) pages.push(s.page);
    if (s.position) {
      const key = s.position.join(',');
      if (!seen.has(key)) {
        seen.add(key);
        positions.push([...s.position]);
      }
    }
  }
  return { text, tokens: countTokens(text), pages, positions };
}

/**
 * Chunks of a parsed document, as its `chunkMode` asks: `merge` (default) is `naiveMerge` with
 * the options of `parser_config`; `per_section` makes every non-blank section one chunk (table
 * rows); `whole` joins all sections with "\n" into one chunk (RAGFlow's `one`).
 */
export function chunkDocument(doc: ParsedDocument, parserConfig?: Record<string, unknown>): MergedChunk[] {
  const module = doc.method ? methodFor(doc.method) : undefined;
  if (module) return module.chunk(doc, parserConfig ?? {});
  const sections = doc.sections.filter((s) => s.text.trim().length > 0);
  switch (doc.chunkMode ?? 'merge') {
    case 'per_section':
      return sections.map((s) => chunkOf([s], s.text));
    case 'whole':
      return sections.length > 0 ? [chunkOf(sections, sections.map((s) => s.text).join('\n'))] : [];
    case 'merge':
      return naiveMerge(doc.sections, mergeOptionsFromParserConfig(parserConfig));
  }
}
