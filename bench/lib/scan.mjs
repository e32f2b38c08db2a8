// Scanned PDFs for the OCR bench: license texts from /usr/share/common-licenses laid out by pdfkit
// (a heading naming the page, then a page of prose), rendered by poppler's pdftoppm and put back
// together as an image-only PDF by img2pdf, as a scanner would make one. Needs poppler-utils and img2pdf.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pdfkitBuffer } from './pdf.mjs';

const LICENSES = ['GPL-3', 'Apache-2.0', 'LGPL-2.1', 'MPL-2.0', 'GFDL-1.3', 'Artistic'];

/** Paragraphs of the license texts, whitespace-normalised, in a fixed order. */
function paragraphs(licenses) {
  return licenses.flatMap((f) =>
    readFileSync(`/usr/share/common-licenses/${f}`, 'utf8')
      .split(/\n\s*\n/)
      .map((p) => p.replace(/\s+/g, ' ').trim())
      .filter((p) => p.length > 40),
  );
}

/**
 * A text PDF of `pages` LETTER pages: "Exhibit N" over license prose on page N, paragraphs added
 * until the page holds at least `chars` characters, cut at `maxChars`. The bench and the OCR end to
 * end test both scan it (test/e2e/ocr.test.ts imports this file; scan.d.mts types it).
 */
export function licensePdf(pages, { licenses = LICENSES, chars = 1800, maxChars = 2000 } = {}) {
  const paras = paragraphs(licenses);
  return pdfkitBuffer((doc) => {
    let next = 0;
    for (let p = 1; p <= pages; p++) {
      doc.addPage({ size: 'LETTER', margin: 72 });
      doc.font('Helvetica-Bold').fontSize(16).text(`Exhibit ${p}`, 72, 72);
      let text = '';
      while (text.length < chars) text += (text ? '\n' : '') + paras[next++ % paras.length];
      doc.font('Helvetica').fontSize(11).text(text.slice(0, maxChars), 72, 110, { width: 468, height: 600, ellipsis: true });
    }
  });
}

/** The image-only PDF of `pdf`: every page rendered at `dpi` in grayscale, one image per page. */
export function scanPdf(pdf, dpi = 150) {
  const dir = mkdtempSync(join(tmpdir(), 'ragline-scan-'));
  try {
    writeFileSync(join(dir, 'in.pdf'), pdf);
    execFileSync('pdftoppm', ['-r', String(dpi), '-gray', '-png', join(dir, 'in.pdf'), join(dir, 'p')]);
    const images = readdirSync(dir).filter((f) => f.endsWith('.png')).sort().map((f) => join(dir, f));
    return execFileSync('img2pdf', images, { maxBuffer: 1024 * 1024 * 1024 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The text layer of page `page` (1-based) of a text PDF, by pdftotext. */
export function pageText(pdf, page) {
  const dir = mkdtempSync(join(tmpdir(), 'ragline-scan-'));
  try {
    writeFileSync(join(dir, 'in.pdf'), pdf);
    return execFileSync('pdftotext', ['-f', String(page), '-l', String(page), '-enc', 'UTF-8', join(dir, 'in.pdf'), '-']).toString('utf8');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
