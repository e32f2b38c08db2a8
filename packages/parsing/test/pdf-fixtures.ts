import PDFDocument from 'pdfkit';

export interface PdfSpec {
  pages: number;
  /** 0-based pages drawn with a shape only, no text (what a scanned page looks like to a text extractor) */
  blankPages?: number[];
  /** extra paragraphs per page, to make pages (and the file) larger */
  paragraphs?: number;
  userPassword?: string;
  /** pdfkit compresses streams by default */
  compress?: boolean;
}

export const bodyText = (page: number, para: number): string =>
  `Paragraph ${para + 1} of page ${page + 1} explains how the parser keeps page numbers and positions for every chunk it builds, ` +
  `so that a search hit can point back at the right place in the original file.`;

/** A PDF made with pdfkit: each page has a 14 pt heading at (72, 72) and 11 pt body paragraphs below it. */
export function makePdf(spec: PdfSpec): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const doc = new PDFDocument({
      autoFirstPage: false,
      compress: spec.compress ?? true,
      ...(spec.userPassword ? { userPassword: spec.userPassword, ownerPassword: `${spec.userPassword}-owner` } : {}),
    });
    const parts: Buffer[] = [];
    doc.on('data', (b: Buffer) => parts.push(b));
    doc.on('end', () => resolve(Buffer.concat(parts)));
    doc.on('error', reject);
    for (let p = 0; p < spec.pages; p++) {
      doc.addPage({ size: 'LETTER', margin: 72 });
      if (spec.blankPages?.includes(p)) {
        doc.rect(100, 100, 300, 400).fill('#777777');
        continue;
      }
      doc.font('Helvetica').fontSize(14).text(`Page ${p + 1} heading`, 72, 72);
      let y = 120;
      for (let i = 0; i < (spec.paragraphs ?? 1); i++) {
        doc.fontSize(11).text(bodyText(p, i), 72, y, { width: 440 });
        y = doc.y + 18;
      }
    }
    doc.end();
  });
}
