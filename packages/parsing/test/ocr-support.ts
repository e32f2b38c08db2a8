// Real pages for the OCR tests and bench: the committed LibreOffice PDFs (fixtures/ocr, made by
// make-fixtures.sh from license texts and Chinese prose on the machine) rendered by poppler's
// pdftoppm, and image-only PDFs of them made by img2pdf.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { distance } from 'fastest-levenshtein';

export const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'ocr');
export const EN_PDF = join(FIXTURES, 'en.pdf');
export const ZH_PDF = join(FIXTURES, 'zh.pdf');

/** Fails with the missing tool's Debian package named, instead of skipping: these tests must run. */
function run(cmd: string, args: string[], pkg: string): Buffer {
  try {
    return execFileSync(cmd, args, { maxBuffer: 512 * 1024 * 1024 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new Error(`${cmd} is missing: apt-get install ${pkg}`);
    throw err;
  }
}

/** Each page of `pdf` as an image file made by pdftoppm (`format`: png, jpeg, tiff), in page order. */
export function renderPages(pdf: string, dpi: number, format: 'png' | 'jpeg' | 'tiff' = 'png'): Buffer[] {
  const dir = mkdtempSync(join(tmpdir(), 'ragline-ocr-test-'));
  try {
    run('pdftoppm', ['-r', String(dpi), '-gray', `-${format}`, pdf, join(dir, 'p')], 'poppler-utils');
    return readdirSync(dir)
      .sort()
      .map((f) => readFileSync(join(dir, f)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** An image-only PDF (a scan): one image per page, no text layer. */
export function imagePdf(images: readonly Buffer[]): Buffer {
  const dir = mkdtempSync(join(tmpdir(), 'ragline-ocr-test-'));
  try {
    const files = images.map((img, i) => {
      const f = join(dir, `p${String(i).padStart(4, '0')}.png`);
      execFileSync('sh', ['-c', 'cat > "$0"', f], { input: img });
      return f;
    });
    return run('img2pdf', files, 'img2pdf');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The text layer of each page, by pdftotext (poppler), a reader independent of the parser under test. */
export function textLayer(pdf: string, page: number): string {
  return run('pdftotext', ['-f', String(page), '-l', String(page), '-enc', 'UTF-8', pdf, '-'], 'poppler-utils').toString('utf8');
}

/** Character error rate of `ocr` against `truth`, whitespace ignored (layout decides it, not recognition). */
export function cer(ocr: string, truth: string): number {
  const a = ocr.replace(/\s+/g, '');
  const b = truth.replace(/\s+/g, '');
  return distance(a, b) / Math.max(1, b.length);
}

/** A 24-bit BMP of a grayscale raster (BMP rows are bottom-up, padded to 4 bytes). */
export function grayBmp(width: number, height: number, pixels: Uint8Array): Buffer {
  const row = Math.ceil((width * 3) / 4) * 4;
  const size = 54 + row * height;
  const b = Buffer.alloc(size);
  b.write('BM', 0, 'ascii');
  b.writeUInt32LE(size, 2);
  b.writeUInt32LE(54, 10);
  b.writeUInt32LE(40, 14);
  b.writeInt32LE(width, 18);
  b.writeInt32LE(height, 22);
  b.writeUInt16LE(1, 26);
  b.writeUInt16LE(24, 28);
  b.writeUInt32LE(row * height, 34);
  for (let y = 0; y < height; y++) {
    const off = 54 + (height - 1 - y) * row;
    for (let x = 0; x < width; x++) {
      const v = pixels[y * width + x]!;
      b[off + x * 3] = v;
      b[off + x * 3 + 1] = v;
      b[off + x * 3 + 2] = v;
    }
  }
  return b;
}
