// Types for scan.mjs, which test/e2e/ocr.test.ts imports.
export interface LicensePdfOptions {
  licenses?: readonly string[];
  chars?: number;
  maxChars?: number;
}
export function licensePdf(pages: number, options?: LicensePdfOptions): Promise<Buffer>;
export function scanPdf(pdf: Buffer, dpi?: number): Buffer;
export function pageText(pdf: Buffer, page: number): string;
