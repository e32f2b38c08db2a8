import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type Tesseract from 'tesseract.js';
import { OcrError, tidyOcrText, toPgm, type GrayImage, type OcrEngine, type OcrLine } from './engine.js';

const require = createRequire(import.meta.url);

/**
 * Languages read on every page, in this order: English and simplified Chinese together measured
 * as accurate on English pages as English alone (CER 0.0% on the license texts) and 3.7% on
 * Chinese pages (docs/ragflow-compatibility.md, "OCR"); a mixed page is read without guessing
 * its language first.
 */
export const OCR_LANGUAGES = ['eng', 'chi_sim'] as const;

/**
 * A folder holding the traineddata of `languages` from their npm packages (@tesseract.js-data/<lang>),
 * the integer "best" LSTM models: smaller than the legacy+LSTM files and as fast, and LSTM is all
 * we run. tesseract.js reads every language from one folder, and each package has its own, so
 * the files are linked into a temporary one.
 */
function languageFolder(languages: readonly string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'ragline-ocr-'));
  for (const lang of languages) {
    const pkg = dirname(require.resolve(`@tesseract.js-data/${lang}/package.json`));
    symlinkSync(join(pkg, '4.0.0_best_int', `${lang}.traineddata.gz`), join(dir, `${lang}.traineddata.gz`));
  }
  return dir;
}

/** Paragraph lines of a tesseract result, in reading order. */
function linesOf(page: Tesseract.Page): OcrLine[] {
  const out: OcrLine[] = [];
  for (const block of page.blocks ?? []) {
    for (const para of block.paragraphs) {
      for (const line of para.lines) {
        const text = tidyOcrText(line.text);
        if (!text) continue;
        const { x0, x1, y0, y1 } = line.bbox;
        out.push({ text, x0, x1, top: y0, bottom: y1, confidence: line.confidence });
      }
    }
  }
  return out;
}

/**
 * tesseract.js (Tesseract 5 compiled to WebAssembly, in a worker thread) with the traineddata
 * shipped in npm packages: nothing is downloaded (`cacheMethod: 'none'` also keeps it from
 * writing a cache file into the working directory).
 */
export async function createTesseractEngine(languages: readonly string[] = OCR_LANGUAGES): Promise<OcrEngine> {
  // a CommonJS package: its API is the default export under ESM
  const { createWorker, OEM, PSM } = (await import('tesseract.js')).default;
  const langPath = languageFolder(languages);
  let worker: Tesseract.Worker;
  try {
    worker = await createWorker([...languages], OEM.LSTM_ONLY, {
      langPath,
      cacheMethod: 'none',
      gzip: true,
      // a job's failure rejects its promise; without a handler tesseract.js also throws it on the event loop, killing the process
      errorHandler: () => {},
    });
  } catch (err) {
    throw new OcrError(`the OCR engine did not start: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  } finally {
    // the data is in the worker's memory once it has started
    rmSync(langPath, { recursive: true, force: true });
  }
  // automatic page segmentation without orientation detection (that needs the osd data, and scans are upright)
  // no second pass over each line as white-on-black text (scans are dark on light): faster by up to a third here
  await worker.setParameters({ tessedit_pageseg_mode: PSM.AUTO, tessedit_do_invert: '0' });
  return {
    async recognize(image: GrayImage | Uint8Array): Promise<OcrLine[]> {
      const bytes = image instanceof Uint8Array ? image : toPgm(image);
      try {
        const { data } = await worker.recognize(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), {}, { text: false, blocks: true });
        return linesOf(data);
      } catch (err) {
        // tesseract.js rejects with the worker's message as a string
        throw new OcrError(`OCR failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
      }
    },
    async terminate(): Promise<void> {
      await worker.terminate();
    },
  };
}
