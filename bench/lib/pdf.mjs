// Text PDFs and filler words for the benches, made with pdfkit. Apart from documents.mjs so a bench
// that measures its own process's memory (the parser bench) loads nothing else.
import PDFDocument from 'pdfkit';

const WORDS = 'queue parser chunk embedding index monitor stream consumer replica latency throughput batch vector token section heartbeat manifest backlog'.split(' ');
/** `n` filler words, the same for the same seed */
export const words = (seed, n) => Array.from({ length: n }, (_, w) => WORDS[(seed * 7 + w * 3 + ((seed >> 3) % 5)) % WORDS.length]).join(' ');

/** The bytes of a pdfkit document that `draw` lays out (pages added by `draw`). */
export function pdfkitBuffer(draw) {
  return new Promise((resolve, reject) => {
    const doc = new PDFDocument({ autoFirstPage: false });
    const parts = [];
    doc.on('data', (b) => parts.push(b));
    doc.on('end', () => resolve(Buffer.concat(parts)));
    doc.on('error', reject);
    draw(doc);
    doc.end();
  });
}

/** A text PDF of `pages` pages, each with a heading and `paragraphs` paragraphs that name the page. */
export function makePdf(id, pages, paragraphs = 4) {
  return pdfkitBuffer((doc) => {
    for (let p = 1; p <= pages; p++) {
      doc.addPage({ size: 'LETTER', margin: 72 });
      doc.font('Helvetica').fontSize(14).text(`Report ${id}, page ${p}`, 72, 72);
      let y = 110;
      for (let k = 0; k < paragraphs; k++) {
        doc.fontSize(10).text(`Paragraph ${k + 1} of page ${p} in report ${id}. ${words(id * 131 + p * 17 + k, 40)}.`, 72, y, { width: 460 });
        y = doc.y + 12;
      }
    }
  });
}
