import { ParseError } from '../errors.js';
import { blocksOf, type Line } from '../formats/pdf.js';
import type { Section } from '../types.js';
import type { OcrLine } from './engine.js';
import type { ParseHooks } from './hooks.js';
import type { RenderedPage } from './render.js';
import { recognize } from './service.js';

/** The ParseError of a parse stopped by its signal (the task was cancelled). */
export function cancelledError(name: string, page?: number): ParseError {
  return new ParseError('cancelled', `parsing of ${name} was cancelled${page === undefined ? '' : ` before page ${page + 1}`}`);
}

/**
 * OCR lines (pixel boxes of an image `scale` pixels per point) as text-layer lines in points,
 * so blocks and positions come out as on a page with a text layer. A line's height stands for
 * its font size: a heading's taller lines start a block of their own.
 */
export function ocrLinesToPoints(lines: readonly OcrLine[], scale: number): Line[] {
  return lines.map((l) => ({
    text: l.text,
    x0: l.x0 / scale,
    x1: l.x1 / scale,
    top: l.top / scale,
    bottom: l.bottom / scale,
    size: Math.max(1, (l.bottom - l.top) / scale),
  }));
}

/** The blocks of an OCR'd page, boxes in points like a text-layer page's. */
export function ocrSections(lines: readonly OcrLine[], page: number, scale: number, maxTokens: number): Section[] {
  return blocksOf(ocrLinesToPoints(lines, scale), page, maxTokens);
}

/** OCR of a rendered page, in one of the replica's OCR slots, as blocks with positions. */
export async function ocrPageSections(rendered: RenderedPage, page: number, maxTokens: number, hooks?: ParseHooks, name = 'document'): Promise<Section[]> {
  // a cancel that came while the page was rendered stops before its OCR, the slow part
  if (hooks?.signal?.aborted) throw cancelledError(name, page);
  const lines = await recognize(rendered.image, hooks);
  return ocrSections(lines, page, rendered.scale, maxTokens);
}
