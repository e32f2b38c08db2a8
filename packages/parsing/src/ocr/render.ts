import type { PDFPageProxy } from 'pdfjs-dist/legacy/build/pdf.mjs';
import type { GrayImage } from './engine.js';

/** Resolution pages are rendered at for OCR: Tesseract reads 300 dpi best (measured: docs/ragflow-compatibility.md, "OCR"). */
export const DEFAULT_OCR_DPI = 300;
/** A page is never rendered to more pixels than this (a poster-sized page would need GBs): its scale drops instead. */
export const MAX_RENDER_PIXELS = 40_000_000;

/** RGBA to one luma byte per pixel (ITU-R BT.601 weights in integers). */
export function rgbaToGray(rgba: Uint8Array | Uint8ClampedArray, width: number, height: number): Uint8Array {
  const out = new Uint8Array(width * height);
  for (let i = 0, j = 0; j < out.length; i += 4, j++) {
    // transparent pixels are paper: composite over white
    const a = rgba[i + 3]!;
    const y = (rgba[i]! * 299 + rgba[i + 1]! * 587 + rgba[i + 2]! * 114) / 1000;
    out[j] = Math.round((y * a + 255 * (255 - a)) / 255);
  }
  return out;
}

export interface RenderedPage {
  image: GrayImage;
  /** pixels per PDF point (72 per inch): a pixel box divided by it is in the text layer's units */
  scale: number;
}

/**
 * A PDF page rendered to grayscale pixels with pdf.js on @napi-rs/canvas (Skia, its binary in
 * the npm package), white background, at `dpi` (less for a page so large it would pass
 * MAX_RENDER_PIXELS).
 */
export async function renderPage(page: PDFPageProxy, dpi: number = DEFAULT_OCR_DPI): Promise<RenderedPage> {
  const base = page.getViewport({ scale: 1 });
  let scale = dpi / 72;
  const pixels = base.width * base.height * scale * scale;
  if (pixels > MAX_RENDER_PIXELS) scale *= Math.sqrt(MAX_RENDER_PIXELS / pixels);
  const viewport = page.getViewport({ scale });
  const width = Math.max(1, Math.ceil(viewport.width));
  const height = Math.max(1, Math.ceil(viewport.height));
  const { createCanvas } = await import('@napi-rs/canvas');
  const canvas = createCanvas(width, height);
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#ffffff';
  ctx.fillRect(0, 0, width, height);
  // pdf.js types its canvas as the DOM's; @napi-rs/canvas implements the same 2D API
  await page.render({ canvas: canvas as never, canvasContext: ctx as never, viewport, background: 'white' }).promise;
  const rgba = ctx.getImageData(0, 0, width, height).data;
  return { image: { width, height, pixels: rgbaToGray(rgba, width, height) }, scale };
}
