import { docxFormat } from './docx.js';
import { emlFormat } from './eml.js';
import type { FormatParser } from './format.js';
import { htmlFormat } from './html.js';
import { imageFormat } from './image.js';
import { jsonFormat, jsonlFormat } from './json.js';
import { markdownFormat } from './markdown.js';
import { pdfFormat } from './pdf.js';
import { pptxFormat } from './pptx.js';
import { tableFormat } from './table.js';
import { textFormat } from './text.js';

/** Every supported format; a new one (PDF, DOCX, XLSX, HTML, JSON...) is one more row. */
export const FORMATS: readonly FormatParser[] = [textFormat, markdownFormat, pdfFormat, docxFormat, tableFormat, htmlFormat, jsonFormat, jsonlFormat, emlFormat, pptxFormat, imageFormat];

const byExtension = new Map<string, FormatParser>(FORMATS.flatMap((f) => f.extensions.map((e) => [e, f] as const)));

/** Lower-case extension with its dot ("" when the name has none). */
export function extensionOf(name: string): string {
  const base = name.slice(name.replace(/\\/g, '/').lastIndexOf('/') + 1);
  const dot = base.lastIndexOf('.');
  return dot > 0 ? base.slice(dot).toLowerCase() : '';
}

/** The format a name's extension says. Where the bytes are at hand, `sniffFormat` (sniff.ts) decides: they beat a missing or misleading extension. */
export function formatFor(name: string): FormatParser | undefined {
  return byExtension.get(extensionOf(name));
}

export function supportedExtensions(): string[] {
  return [...byExtension.keys()];
}

export type { FormatInput, FormatParser } from './format.js';
