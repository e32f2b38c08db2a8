import PDFDocument from 'pdfkit';

/** A text PDF made with pdfkit: page N (1-based) holds "Page N heading" and two paragraphs that name page N. */
export function makeTextPdf(pages: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const doc = new PDFDocument({ autoFirstPage: false });
    const parts: Buffer[] = [];
    doc.on('data', (b: Buffer) => parts.push(b));
    doc.on('end', () => resolve(Buffer.concat(parts)));
    doc.on('error', reject);
    for (let p = 1; p <= pages; p++) {
      doc.addPage({ size: 'LETTER', margin: 72 });
      doc.font('Helvetica').fontSize(14).text(`Page ${p} heading`, 72, 72);
      doc.fontSize(11).text(`The first paragraph of page ${p} describes how parse tasks split a PDF into page ranges.`, 72, 120, { width: 440 });
      doc.text(`The second paragraph of page ${p} checks that every chunk keeps its page number.`, 72, 200, { width: 440 });
    }
    doc.end();
  });
}
