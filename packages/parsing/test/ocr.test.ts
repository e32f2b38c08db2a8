import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { GlobalFonts, createCanvas } from '@napi-rs/canvas';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ParseError,
  buildChunks,
  chunkDocument,
  initHashing,
  ocrRequested,
  parseDocument,
  parsePdf,
  bytesSource,
  sniffFormat,
  terminateOcr,
  tidyOcrText,
  type PageProgress,
} from '../src/index.js';
import { EN_PDF, ZH_PDF, cer, grayBmp, imagePdf, renderPages, textLayer } from './ocr-support.js';

afterAll(async () => {
  await terminateOcr();
});

async function ocrText(name: string, data: Uint8Array, parserConfig: Record<string, unknown> = {}): Promise<string> {
  const doc = await parseDocument({ name, data, parserConfig });
  return doc.sections.map((s) => s.text).join('\n');
}

describe('OCR accuracy on real pages (pdftoppm renders of LibreOffice PDFs)', () => {
  // measured here: English 0.0% at both resolutions; Chinese ~3.5% at 150 and ~3.7% at 300 dpi
  const limits = { en: { 300: 0.03, 150: 0.05 }, zh: { 300: 0.05, 150: 0.08 } } as const;
  for (const [lang, pdf] of [
    ['en', EN_PDF],
    ['zh', ZH_PDF],
  ] as const) {
    for (const dpi of [300, 150] as const) {
      it(`${lang} at ${dpi} dpi: character error rate <= ${limits[lang][dpi] * 100}% against the text layer`, { timeout: 120_000 }, async () => {
        const pages = renderPages(pdf, dpi);
        expect(pages.length).toBeGreaterThan(0);
        for (const [i, png] of pages.entries()) {
          const text = await ocrText(`${lang}-${i + 1}.png`, png);
          const rate = cer(text, textLayer(pdf, i + 1));
          console.log(`OCR CER ${lang} page ${i + 1} at ${dpi} dpi: ${(rate * 100).toFixed(2)}%`);
          expect(rate).toBeLessThanOrEqual(limits[lang][dpi]);
        }
      });
    }
  }
});

describe('scanned PDF (image-only, made by img2pdf)', () => {
  let scan: Buffer;
  let layerDoc: Awaited<ReturnType<typeof parsePdf>>;
  beforeAll(async () => {
    scan = imagePdf(renderPages(EN_PDF, 150));
    layerDoc = await parsePdf(bytesSource(readFileSync(EN_PDF)), { name: 'en.pdf' });
  });

  it('OCRs every page, reports each one, and places blocks where the text layer has them', { timeout: 120_000 }, async () => {
    const seen: PageProgress[] = [];
    const doc = await parseDocument({ name: 'scan.pdf', data: scan, hooks: { onPage: (p) => seen.push(p) } });
    expect(seen).toEqual([
      { page: 0, done: 1, total: 2, ocr: true },
      { page: 1, done: 2, total: 2, ocr: true },
    ]);
    expect(doc.notes).toContain('OCR read 2 of 2 pages (no usable text layer)');
    expect([...new Set(doc.sections.map((s) => s.page))]).toEqual([0, 1]);
    for (const page of [0, 1]) {
      const ocr = doc.sections.filter((s) => s.page === page).map((s) => s.text).join('\n');
      expect(cer(ocr, textLayer(EN_PDF, page + 1))).toBeLessThanOrEqual(0.05);
    }
    // boxes are in points from the top-left corner, as for a text-layer page: the first block of
    // page 1 ("Apache License ...") sits where the text layer's does, within a few points
    const first = doc.sections[0]!.position!;
    const truth = layerDoc.sections[0]!.position!;
    expect(first[0]).toBe(0);
    for (const k of [1, 3, 4] as const) expect(Math.abs(first[k] - truth[k])).toBeLessThan(6);
    // and come out as RAGFlow's position fields
    await initHashing();
    const chunks = buildChunks({ doc_id: 'd', kb_id: 'k', doc_name: 'scan.pdf' }, chunkDocument(doc));
    expect(chunks[0]!.page_num_int[0]).toBe(1);
    expect(chunks[0]!.position_int[0]).toEqual([1, Math.trunc(first[1]), Math.trunc(first[2]), Math.trunc(first[3]), Math.trunc(first[4])]);
    expect(chunks.at(-1)!.page_num_int.at(-1)).toBe(2);
    expect(chunks.every((c) => c.top_int.every((t) => t >= 0 && t < 842))).toBe(true);
  });

  it('reads one page of a range only, and leaves text-layer pages to their text layer', { timeout: 60_000 }, async () => {
    const seen: PageProgress[] = [];
    const doc = await parseDocument({ name: 'scan.pdf', data: scan, fromPage: 1, toPage: 2, hooks: { onPage: (p) => seen.push(p) } });
    expect(seen).toEqual([{ page: 1, done: 1, total: 1, ocr: true }]);
    expect(new Set(doc.sections.map((s) => s.page))).toEqual(new Set([1]));
    const layer: PageProgress[] = [];
    await parseDocument({ name: 'en.pdf', data: readFileSync(EN_PDF), hooks: { onPage: (p) => layer.push(p) } });
    expect(layer.map((p) => p.ocr)).toEqual([false, false]);
  });

  it('does not OCR under layout_recognize "Plain Text", and says why the file is empty', async () => {
    const err = await parseDocument({ name: 'scan.pdf', data: scan, parserConfig: { layout_recognize: 'Plain Text' } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ParseError);
    expect((err as ParseError).code).toBe('empty');
    expect((err as ParseError).message).toContain(`page 1 has no text layer (scanned?); not OCR'd since layout_recognize is "Plain Text"`);
  });

  it('stops before the next page once its signal is aborted', { timeout: 60_000 }, async () => {
    const cancel = new AbortController();
    const seen: number[] = [];
    const err = await parseDocument({
      name: 'scan.pdf',
      data: scan,
      hooks: {
        signal: cancel.signal,
        onPage: (p) => {
          seen.push(p.page);
          cancel.abort();
        },
      },
    }).catch((e: unknown) => e);
    expect(seen).toEqual([0]);
    expect((err as ParseError).code).toBe('cancelled');
    expect((err as ParseError).message).toBe('parsing of scan.pdf was cancelled before page 2');
  });
});

describe('image files', () => {
  let page2: Buffer;
  let truth: string;
  beforeAll(() => {
    // the shorter second page of the license, at 150 dpi
    page2 = renderPages(EN_PDF, 150)[1]!;
    truth = textLayer(EN_PDF, 2);
  });

  it('reads PNG, JPEG, TIFF, BMP and WebP by OCR', { timeout: 180_000 }, async () => {
    const jpeg = renderPages(EN_PDF, 150, 'jpeg')[1]!;
    const tiff = renderPages(EN_PDF, 150, 'tiff')[1]!;
    // BMP and WebP from the PNG's pixels (pdftoppm writes neither)
    const { loadImage } = await import('@napi-rs/canvas');
    const img = await loadImage(page2);
    const canvas = createCanvas(img.width, img.height);
    const ctx = canvas.getContext('2d');
    ctx.drawImage(img, 0, 0);
    const rgba = ctx.getImageData(0, 0, img.width, img.height).data;
    const gray = new Uint8Array(img.width * img.height);
    for (let i = 0; i < gray.length; i++) gray[i] = rgba[i * 4]!;
    const bmp = grayBmp(img.width, img.height, gray);
    const webp = await canvas.encode('webp', 90);
    for (const [name, data] of [
      ['page.png', page2],
      ['page.jpg', jpeg],
      ['page.tiff', tiff],
      ['page.bmp', bmp],
      ['page.webp', webp],
    ] as const) {
      expect((await sniffFormat(name, data)).format?.id, name).toBe('image');
      const text = await ocrText(name, data);
      expect(cer(text, truth), name).toBeLessThanOrEqual(0.05);
    }
  });

  it('names what is wrong with a broken image', async () => {
    const err = await parseDocument({ name: 'cut.png', data: page2.subarray(0, 4000) }).catch((e: unknown) => e);
    expect((err as ParseError).code).toBe('corrupt');
    expect((err as ParseError).message).toBe('corrupt image: cut.png could not be decoded (truncated, or not the image its signature says)');
    const bmp = await parseDocument({ name: 'cut.bmp', data: grayBmp(40, 40, new Uint8Array(1600)).subarray(0, 60) }).catch((e: unknown) => e);
    expect((bmp as ParseError).code).toBe('corrupt');
    expect((bmp as ParseError).message).toMatch(/^corrupt image: cut\.bmp could not be decoded as a BMP/);
  });

  it('chunks an image under naive with positions, and under picture as one image chunk of its lines', { timeout: 60_000 }, async () => {
    await initHashing();
    const naive = await parseDocument({ name: 'page.png', data: page2 });
    expect(naive.format).toBe('image');
    const naiveChunks = buildChunks({ doc_id: 'd', kb_id: 'k', doc_name: 'page.png' }, chunkDocument(naive));
    expect(naiveChunks.length).toBeGreaterThan(0);
    // an image's boxes are its pixels (150 dpi: a 1241 px wide page)
    expect(naiveChunks[0]!.position_int[0]![0]).toBe(1);
    expect(Math.max(...naiveChunks.flatMap((c) => c.position_int.map((p) => p[2]!)))).toBeGreaterThan(600);

    const picture = await parseDocument({ name: 'page.png', data: page2, parserId: 'picture' });
    expect(picture.method).toBe('picture');
    const [chunk, ...rest] = chunkDocument(picture);
    expect(rest).toEqual([]);
    expect(chunk!.fields).toEqual({ page_num_int: [], position_int: [], top_int: [], doc_type_kwd: 'image' });
    const [built] = buildChunks({ doc_id: 'd', kb_id: 'k', doc_name: 'page.png', parser_id: 'picture' }, [chunk!]);
    expect([built!.page_num_int, built!.position_int, built!.top_int, built!.doc_type_kwd]).toEqual([[], [], [], 'image']);
    expect(chunk!.text).toBe(picture.sections.map((s) => s.text).join('\n'));
    expect(cer(chunk!.text, truth)).toBeLessThanOrEqual(0.05);
    expect(picture.notes).toEqual([]);
  });

  it('notes under picture that a vision model would describe an image with little text', { timeout: 60_000 }, async () => {
    // a small image holding one word
    const canvas = createCanvas(400, 120);
    const ctx = canvas.getContext('2d');
    ctx.fillStyle = '#fff';
    ctx.fillRect(0, 0, 400, 120);
    ctx.fillStyle = '#000';
    // Skia finds no system fonts here: pdf.js's Liberation Sans
    GlobalFonts.registerFromPath(createRequire(import.meta.url).resolve('pdfjs-dist/standard_fonts/LiberationSans-Regular.ttf'), 'Liberation Sans');
    ctx.font = '48px "Liberation Sans"';
    ctx.fillText('Invoice', 40, 80);
    const png = await canvas.encode('png');
    const doc = await parseDocument({ name: 'word.png', data: png, parserId: 'picture' });
    expect(doc.sections.map((s) => s.text).join(' ')).toContain('Invoice');
    expect(doc.notes).toEqual([
      "the OCR text of word.png is short (7 characters): RAGFlow would add a vision model's description of the picture, which Ragline does not make; only the OCR text is indexed",
    ]);
    // picture on a PDF is not RAGFlow's picture: naive, with a note
    const pdf = await parseDocument({ name: 'en.pdf', data: readFileSync(EN_PDF), parserId: 'picture' });
    expect(pdf.notes).toContain("parser 'picture' does not read pdf files; chunked with 'naive'");
  });

  it('is not read under layout_recognize "Plain Text"', async () => {
    const err = await parseDocument({ name: 'page.png', data: page2, parserConfig: { layout_recognize: 'Plain Text' } }).catch((e: unknown) => e);
    expect((err as ParseError).code).toBe('empty');
    expect((err as ParseError).message).toContain('layout_recognize is "Plain Text"');
  });
});

describe('OCR helpers', () => {
  it('layout_recognize: DeepDOC, true and other recognisers OCR; Plain Text, false and empty do not', () => {
    for (const v of [undefined, 'DeepDOC', true, 'MinerU', 'qwen-vl@Tongyi']) expect(ocrRequested({ layout_recognize: v }), String(v)).toBe(true);
    for (const v of ['Plain Text', 'plain text', 'PlainText', false, '', '  ']) expect(ocrRequested({ layout_recognize: v }), String(v)).toBe(false);
  });

  it('drops the spaces Tesseract puts between CJK characters, not between words', () => {
    expect(tidyOcrText('无 效 的 关 系 标 识 : "%s"')).toBe('无效的关系标识 : "%s"');
    expect(tidyOcrText('  Grant  of\nCopyright ')).toBe('Grant of Copyright');
    expect(tidyOcrText('使用 git status 检 查')).toBe('使用 git status 检查');
  });
});
