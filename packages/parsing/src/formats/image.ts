import { createRequire } from 'node:module';
import { ParseError } from '../errors.js';
import { DEFAULT_CHUNK_TOKEN_NUM } from '../merge.js';
import { ocrRequested } from '../ocr/config.js';
import type { GrayImage } from '../ocr/engine.js';
import { cancelledError, ocrSections } from '../ocr/pages.js';
import { MAX_RENDER_PIXELS } from '../ocr/render.js';
import { recognize } from '../ocr/service.js';
import type { ParsedDocument } from '../types.js';
import type { FormatInput, FormatParser } from './format.js';

// bmp-js is CommonJS without types
const decodeBmpBytes = (createRequire(import.meta.url)('bmp-js') as { decode(b: Buffer): { width: number; height: number; data: Uint8Array } }).decode;

/** Image files read by OCR. */
export const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg', '.tif', '.tiff', '.bmp', '.webp'] as const;

/** What file-type calls the image kinds above. */
export const IMAGE_SIGNATURES = ['png', 'jpg', 'tif', 'bmp', 'webp'] as const;

/** Decoded images past this many pixels are refused: OCR of a poster scan would take minutes and GBs. */
export const MAX_IMAGE_PIXELS = MAX_RENDER_PIXELS;

function isBmp(data: Uint8Array): boolean {
  return data[0] === 0x42 && data[1] === 0x4d;
}

/**
 * A BMP as grayscale pixels, decoded in JavaScript by bmp-js. Tesseract reads PNG, JPEG, TIFF
 * and WebP itself (Leptonica, which refuses a broken file with an error); tesseract.js would
 * turn a BMP into a JavaScript object too large to pass to its worker, and Skia (in
 * @napi-rs/canvas) crashes the process on a truncated image, so neither decodes one here.
 */
function decodeBmp(data: Uint8Array, name: string): GrayImage {
  let bmp: { width: number; height: number; data: Uint8Array };
  try {
    bmp = decodeBmpBytes(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  } catch (err) {
    throw new ParseError('corrupt', `corrupt image: ${name} could not be decoded as a BMP (${err instanceof Error ? err.message : String(err)})`, { cause: err });
  }
  const { width, height } = bmp;
  if (!(width > 0 && height > 0)) throw new ParseError('corrupt', `corrupt image: ${name} has no pixels`);
  if (width * height > MAX_IMAGE_PIXELS) throw tooManyPixels(name, width, height);
  // bmp-js gives A, B, G, R bytes per pixel
  const pixels = new Uint8Array(width * height);
  for (let i = 0, j = 0; j < pixels.length; i += 4, j++) {
    pixels[j] = Math.round((bmp.data[i + 3]! * 299 + bmp.data[i + 2]! * 587 + bmp.data[i + 1]! * 114) / 1000);
  }
  return { width, height, pixels };
}

function tooManyPixels(name: string, width: number, height: number): ParseError {
  return new ParseError('too_large', `image too large: ${name} is ${width}×${height} pixels, more than the ${MAX_IMAGE_PIXELS / 1_000_000} million OCR reads`);
}

/**
 * Text of an image file by OCR: one page (0), blocks with pixel boxes (an image has no points;
 * RAGFlow's positions of an image are its pixels too). `layout_recognize: "Plain Text"` asks for
 * no OCR, and an image has nothing else to read.
 */
export async function parseImage(input: FormatInput): Promise<ParsedDocument> {
  const { name, data } = input;
  if (!ocrRequested(input.parserConfig)) {
    throw new ParseError('empty', `empty file: ${name} is an image and layout_recognize is "Plain Text", so it is not OCR'd and has no text`);
  }
  if (input.hooks?.signal?.aborted) throw cancelledError(name);
  const maxTokens = Number(input.parserConfig['chunk_token_num']) >= 1 ? Number(input.parserConfig['chunk_token_num']) : DEFAULT_CHUNK_TOKEN_NUM;
  const image = isBmp(data) ? decodeBmp(data, name) : data;
  let lines;
  try {
    lines = await recognize(image, input.hooks);
  } catch (err) {
    // Leptonica refuses a file it cannot decode with "Error attempting to read image."
    if (image === data && err instanceof Error && /read image/i.test(err.message)) {
      throw new ParseError('corrupt', `corrupt image: ${name} could not be decoded (truncated, or not the image its signature says)`, { cause: err });
    }
    throw err;
  }
  input.hooks?.onPage?.({ page: 0, done: 1, total: 1, ocr: true });
  return { sections: ocrSections(lines, 0, 1, maxTokens), format: 'image', notes: [] };
}

export const imageFormat: FormatParser = {
  id: 'image',
  extensions: IMAGE_EXTENSIONS,
  paged: false,
  parse: parseImage,
};
