import type { GrayImage, OcrEngine, OcrLine } from './engine.js';
import type { ParseHooks } from './hooks.js';
import { createTesseractEngine } from './tesseract.js';

let shared: Promise<OcrEngine> | undefined;

/**
 * The process's OCR engine, started on first use (loading the models takes about half a second
 * and ~100 MB) and kept for the next pages: a parse worker process holds one. How many pages a
 * replica OCRs at once is bounded by the sandbox's slots, not here.
 */
export function sharedOcrEngine(): Promise<OcrEngine> {
  if (!shared) {
    const starting = createTesseractEngine();
    shared = starting;
    // a failed start is not cached: the next page tries again
    starting.catch(() => {
      if (shared === starting) shared = undefined;
    });
  }
  return shared;
}

/** Stops the process's OCR engine (its worker thread); the next OCR starts a new one. */
export async function terminateOcr(): Promise<void> {
  const engine = shared;
  shared = undefined;
  if (engine) await (await engine.catch(() => undefined))?.terminate();
}

/** OCR of one image with the shared engine, inside one of the replica's OCR slots when the hooks have them. */
export async function recognize(image: GrayImage | Uint8Array, hooks?: ParseHooks): Promise<OcrLine[]> {
  const release = await hooks?.ocrSlot?.();
  try {
    return await (await sharedOcrEngine()).recognize(image);
  } finally {
    release?.();
  }
}
