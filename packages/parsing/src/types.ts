/** PDF-style box: page (0-based), left, right, top, bottom. */
export type Position = [number, number, number, number, number];

/** A run of document text in reading order, as a format parser produces it. */
export interface Section {
  text: string;
  /** 0-based page the text is on (paged formats only). */
  page?: number;
  position?: Position;
  /** 0-based row or line number in the file (set by the readers of methods that count rows, e.g. qa) */
  row?: number;
  /** a spreadsheet row's cells as written, empty cells included (for methods that read columns, e.g. qa) */
  cells?: string[];
  /** heading level (1-based) of a section that is a heading paragraph, where a method needs it (qa on DOCX) */
  heading?: number;
  /** the section is a whole table as HTML (qa on DOCX) */
  table?: boolean;
  /** RAGFlow's layout type of a PDF text block ("title" or "text"), for the methods that read PDF layout (manual, paper, book, laws) */
  layout?: string;
}

/** One PDF bookmark as RAGFlow's extract_pdf_outlines gives it: title, depth (0 at the top), 1-based page. */
export interface OutlineEntry {
  title: string;
  depth: number;
  page: number;
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
  /**
   * RAGFlow fields a chunking method sets itself, over the ones buildChunks derives from `text`
   * (a Q/A chunk's question_kwd and a content_ltks of its question alone, say)
   */
  fields?: Record<string, unknown>;
}

/**
 * How the sections become chunks. `merge`: RAGFlow's naive merge by token budget (default);
 * `per_section`: every section is one chunk as it is (the table parser: one chunk per row);
 * `whole`: all sections joined by "\n" into one chunk (the `one` parser).
 */
export type ChunkMode = 'merge' | 'per_section' | 'whole';

export interface ParsedDocument {
  sections: Section[];
  /** format id from the registry, e.g. "text" or "markdown" */
  format: string;
  /** character encoding the bytes were decoded from (text formats) */
  encoding?: string;
  /** non-fatal remarks worth showing on the task's progress (e.g. a fallback encoding) */
  notes: string[];
  /** how the parse stage turns the sections into chunks (see `chunkDocument`); absent means `merge` */
  chunkMode?: ChunkMode;
  /** the chunking method of methods/ that chunks this document, when it is not one of naive / table / one */
  method?: string;
  /** the PDF's bookmarks, for the methods that read them (manual) */
  outline?: OutlineEntry[];
  /** an e-mail's attachments, each parsed by its own format and chunked with `naive` (the `email` method appends them) */
  attachments?: EmailAttachment[];
}

/** One attachment of an e-mail message: its file name and its chunks. */
export interface EmailAttachment {
  name: string;
  chunks: MergedChunk[];
}
