export { ParseError, HashingNotInitializedError, fileTooLargeError, type ParseErrorCode } from './errors.js';
export { countTokens, truncateTokens } from '@ragline/tokenizer';
export { initHashing, chunkId, xxh64Hex } from './hash.js';
export { utf8SurrogatePass } from '@ragline/python-repr';
export { tokenize, fineGrainedTokenize, configureRagTokenizer, RagTokenizerResourceSettings, type RagTokenizerSettings } from '@ragline/rag-tokenizer';
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
export {
  sniffFormat,
  sniffContent,
  guessTextFormat,
  describeContent,
  supportedFormatsText,
  unsupportedFormatError,
  SNIFF_BYTES,
  type SniffedContent,
  type FormatChoice,
  type SniffOptions,
} from './formats/sniff.js';
export { textSections } from './formats/text.js';
export { markdownSections } from './formats/markdown.js';
export { parsePdf, pdfPageCount, pdfFormat, DEFAULT_PDF_RANGE_CHUNK, type PdfOptions } from './formats/pdf.js';
export { bytesSource, type ByteSource } from './byte-source.js';
export {
  ParseSandbox,
  ParseWorkerError,
  defaultWorkerUrl,
  DEFAULT_PARSE_TIMEOUT_MS,
  DEFAULT_PARSE_MAX_HEAP_MB,
  DEFAULT_OCR_CONCURRENCY,
  DEFAULT_CANCEL_GRACE_MS,
  type ParseSandboxOptions,
} from './sandbox/sandbox.js';
export { ParsingSettings } from './settings.js';
export type { ParseHooks, PageProgress } from './ocr/hooks.js';
export { OcrError, tidyOcrText, type OcrEngine, type OcrLine, type GrayImage } from './ocr/engine.js';
export { createTesseractEngine, OCR_LANGUAGES } from './ocr/tesseract.js';
export { sharedOcrEngine, terminateOcr } from './ocr/service.js';
export { ocrRequested } from './ocr/config.js';
export { renderPage, DEFAULT_OCR_DPI } from './ocr/render.js';
export { imageFormat, parseImage, IMAGE_EXTENSIONS } from './formats/image.js';
export { pictureMethod } from './methods/picture.js';
export { docxFormat } from './formats/docx.js';
export { htmlFormat, htmlSections } from './formats/html.js';
export { jsonFormat, jsonlFormat, jsonSections, flattenJson, MAX_LINE_NOTES } from './formats/json.js';
export {
  tableFormat,
  tableRows,
  tableRowCount,
  tableSections,
  rowText,
  TABLE_TASK_ROWS,
  type TableRow,
} from './formats/table.js';
export {
  inspectArchive,
  looksLikeZip,
  DEFAULT_MAX_UNPACKED_BYTES,
  DEFAULT_MAX_COMPRESSION_RATIO,
  DEFAULT_RATIO_CHECK_MIN_BYTES,
  type ArchiveLimits,
  type ArchiveEntry,
  type ArchiveSummary,
} from './archive.js';
export { planParser, chunkDocument, isTableFile, CHUNK_MODE, type BuiltinMethod, type ChunkMethod, type ParserPlan } from './parsers.js';
export { METHODS, methodFor, type ChunkMethodModule } from './methods/index.js';
export { buildChunks, formatCreateTime, type ChunkTask } from './chunks.js';
export { childDelimiterPattern, splitChildren, momText, momId, parentRecords } from './children.js';
export type { Section, MergedChunk, ParsedDocument, Position, ChunkMode } from './types.js';
