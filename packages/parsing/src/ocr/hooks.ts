/** How far a paged parse is: sent after each page. */
export interface PageProgress {
  /** 0-based page just finished */
  page: number;
  /** pages of the task finished so far, this one included */
  done: number;
  /** pages the task covers */
  total: number;
  /** whether the page's text came from OCR */
  ocr: boolean;
}

/**
 * What a parse may be given beyond its input, none of it data: in a parse sandbox these cross
 * the process boundary as messages.
 */
export interface ParseHooks {
  /** called after every page of a paged format */
  onPage?(progress: PageProgress): void;
  /** once aborted, the parse stops before its next page with ParseError `cancelled` */
  signal?: AbortSignal;
  /**
   * waits for one of the replica's OCR slots (PARSER_OCR_CONCURRENCY) and resolves to its
   * release; absent: OCR runs unbounded (a parse outside the sandbox)
   */
  ocrSlot?(): Promise<() => void>;
}
