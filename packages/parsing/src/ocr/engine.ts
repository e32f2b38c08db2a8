/** One recognised text line, its box in pixels of the image it was read from (origin top-left). */
export interface OcrLine {
  text: string;
  x0: number;
  x1: number;
  top: number;
  bottom: number;
  /** the engine's confidence, 0..100 */
  confidence: number;
}

/** A grayscale image, one byte per pixel, row by row. */
export interface GrayImage {
  width: number;
  height: number;
  pixels: Uint8Array;
}

/** An OCR engine: images in, text lines with boxes out. */
export interface OcrEngine {
  /** `image` is a grayscale raster, or the bytes of an encoded image file the engine decodes itself (PNG, JPEG, TIFF, BMP, WebP) */
  recognize(image: GrayImage | Uint8Array): Promise<OcrLine[]>;
  terminate(): Promise<void>;
}

/**
 * The grayscale image as a binary PGM (P5). Tesseract's image library reads PNM natively, so a
 * rendered page goes to it without a compression pass (PNG encoding a 300 dpi page costs more
 * than a tenth of its OCR time).
 */
export function toPgm(image: GrayImage): Uint8Array {
  const header = new TextEncoder().encode(`P5\n${image.width} ${image.height}\n255\n`);
  const out = new Uint8Array(header.byteLength + image.pixels.byteLength);
  out.set(header, 0);
  out.set(image.pixels, header.byteLength);
  return out;
}

const CJK = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}\u3000-\u303f\uff00-\uffef]/u;
const CJK_GAP = /([\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}\u3000-\u303f\uff00-\uffef]) +(?=[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}\u3000-\u303f\uff00-\uffef])/gu;

/**
 * Tesseract separates every recognised word by a space, and in Chinese or Japanese a "word" is
 * often one character: spaces between two CJK characters are dropped, as a text layer has none.
 */
export function tidyOcrText(text: string): string {
  const t = text.replace(/\s+/g, ' ').trim();
  return CJK.test(t) ? t.replace(CJK_GAP, '$1') : t;
}

/** The OCR engine failed (it would not start, or its worker died): not the document's fault, so worth a retry. */
export class OcrError extends Error {
  override readonly name = 'OcrError';
  readonly retryable = true;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
