export { ParseError, HashingNotInitializedError, type ParseErrorCode } from './errors.js';
export { countTokens, truncateTokens } from './tokens.js';
export { initHashing, chunkId, xxh64Hex, utf8SurrogatePass } from './hash.js';
export { tokenize, fineGrainedTokenize, FINE_GRAINED_CJK_MIN_LENGTH } from './tokenize.js';
export { parseDelimiters, hasCustomDelimiter, delimiterRegExp, splitOnDelimiters } from './delimiters.js';
export {
  naiveMerge,
  normalizeOverlappedPercent,
  mergeOptionsFromParserConfig,
  DEFAULT_CHUNK_TOKEN_NUM,
  DEFAULT_DELIMITER,
  type MergeOptions,
} from './merge.js';
export { decodeText, type DecodedText } from './decode.js';
export { parseDocument, DEFAULT_MAX_BYTES, LAST_PAGE, type ParseInput } from './parse.js';
export { FORMATS, formatFor, extensionOf, supportedExtensions, type FormatParser, type FormatInput } from './formats/index.js';
export { textSections } from './formats/text.js';
export { markdownSections } from './formats/markdown.js';
export {
  parsePdf,
  pdfPageCount,
  bytesSource,
  pdfFormat,
  DEFAULT_PDF_RANGE_CHUNK,
  type ByteSource,
  type PdfOptions,
} from './formats/pdf.js';
export {
  ParseSandbox,
  ParseWorkerError,
  defaultWorkerUrl,
  DEFAULT_PARSE_TIMEOUT_MS,
  DEFAULT_PARSE_MAX_HEAP_MB,
  type ParseSandboxOptions,
} from './sandbox/sandbox.js';
export { buildChunks, formatCreateTime, type ChunkTask } from './chunks.js';
export type { Section, MergedChunk, ParsedDocument, Position } from './types.js';
