/** PDF-style box: page (0-based), left, right, top, bottom. */
export type Position = [number, number, number, number, number];

/** A run of document text in reading order, as a format parser produces it. */
export interface Section {
  text: string;
  /** 0-based page the text is on (paged formats only). */
  page?: number;
  position?: Position;
}

/** One chunk out of `naiveMerge`. */
export interface MergedChunk {
  text: string;
  /** cl100k_base tokens of `text`. */
  tokens: number;
  /** distinct 0-based pages of the sections the chunk came from, in order */
  pages: number[];
  /** distinct positions of the sections the chunk came from, in order */
  positions: number[][];
}

export interface ParsedDocument {
  sections: Section[];
  /** format id from the registry, e.g. "text" or "markdown" */
  format: string;
  /** character encoding the bytes were decoded from (text formats) */
  encoding?: string;
  /** non-fatal remarks worth showing on the task's progress (e.g. a fallback encoding) */
  notes: string[];
}
