import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ParseError, ParseSandbox, type PageProgress } from '../src/index.js';
import { Slots } from '../src/sandbox/slots.js';
import { EN_PDF, imagePdf, renderPages } from './ocr-support.js';
import { ensureBuilt } from './built-worker.js';

describe('Slots', () => {
  it('holds at most its size, serves waiters in order, and drops a cancelled wait', async () => {
    const slots = new Slots(2);
    const a = await slots.acquire().granted;
    const b = await slots.acquire().granted;
    expect(slots.inUse).toBe(2);
    const order: string[] = [];
    const c = slots.acquire();
    const d = slots.acquire();
    const e = slots.acquire();
    void c.granted.then(() => order.push('c'));
    void e.granted.then(() => order.push('e'));
    d.cancel();
    expect(slots.queued).toBe(2);
    a();
    a(); // a second release of the same slot is a no-op
    await new Promise((r) => setTimeout(r, 0));
    expect(order).toEqual(['c']);
    expect(slots.inUse).toBe(2);
    b();
    await new Promise((r) => setTimeout(r, 0));
    expect(order).toEqual(['c', 'e']);
    expect(() => new Slots(0)).toThrow(RangeError);
  });
});

describe('OCR in the parse sandbox', () => {
  let scan2: Buffer;
  let scan4: Buffer;
  beforeAll(() => {
    ensureBuilt();
    const pages = renderPages(EN_PDF, 150);
    scan2 = imagePdf(pages);
    scan4 = imagePdf([...pages, ...pages]);
  });

  let sandbox: ParseSandbox | undefined;
  afterAll(async () => {
    await sandbox?.close();
  });

  it('OCRs in its workers with no more pages at once than its OCR slots, and reports every page', { timeout: 180_000 }, async () => {
    sandbox = new ParseSandbox({ ocrConcurrency: 1, maxIdleWorkers: 2 });
    let peak = 0;
    const sampler = setInterval(() => {
      peak = Math.max(peak, sandbox!.ocrInUse);
    }, 10);
    const pages: PageProgress[][] = [[], []];
    try {
      const docs = await Promise.all(
        [0, 1].map((i) => sandbox!.parse({ name: `scan${i}.pdf`, data: scan2, hooks: { onPage: (p) => pages[i]!.push(p) } })),
      );
      for (const doc of docs) expect(doc.notes).toContain('OCR read 2 of 2 pages (no usable text layer)');
    } finally {
      clearInterval(sampler);
    }
    expect(peak).toBe(1);
    expect(sandbox.ocrInUse).toBe(0);
    for (const seen of pages) expect(seen.map((p) => `${p.done}/${p.total}:${p.ocr}`)).toEqual(['1/2:true', '2/2:true']);
    expect(sandbox.peakWorkerRssMb).toBeGreaterThan(0);
  });

  it('stops a cancelled parse before its next page, and kills a worker that does not stop in time', { timeout: 180_000 }, async () => {
    sandbox ??= new ParseSandbox({ ocrConcurrency: 1 });
    const cancel = new AbortController();
    const seen: number[] = [];
    let abortedAt = 0;
    const err = await sandbox
      .parse({
        name: 'scan4.pdf',
        data: scan4,
        hooks: {
          signal: cancel.signal,
          onPage: (p) => {
            seen.push(p.page);
            abortedAt = Date.now();
            cancel.abort();
          },
        },
      })
      .catch((e: unknown) => e);
    // the worker had started on page 2 when the cancel came: it stops at the next check (after the
    // render, or before page 3) or is killed after the grace period, whichever is first
    expect((err as ParseError).code).toBe('cancelled');
    expect((err as ParseError).message).toMatch(/^parsing of scan4\.pdf was cancelled( before page [23])?$/);
    expect(seen).toEqual([0]);
    expect(Date.now() - abortedAt).toBeLessThan(5000);
    expect(sandbox.ocrInUse).toBe(0);

    // cancelled mid-page with a grace shorter than a page's OCR: the worker is killed
    const impatient = new ParseSandbox({ ocrConcurrency: 1, cancelGraceMs: 50 });
    try {
      const stop = new AbortController();
      const started = Date.now();
      const timer = setTimeout(() => stop.abort(), 300);
      const e2 = await impatient.parse({ name: 'scan4.pdf', data: scan4, hooks: { signal: stop.signal } }).catch((e: unknown) => e);
      clearTimeout(timer);
      expect((e2 as ParseError).code).toBe('cancelled');
      expect(Date.now() - started).toBeLessThan(3000);
      expect(impatient.workerCount).toBe(0);
      expect(impatient.ocrInUse).toBe(0);
      // an already cancelled parse does not start
      const e3 = await impatient.parse({ name: 'x.pdf', data: scan2, hooks: { signal: stop.signal } }).catch((e: unknown) => e);
      expect((e3 as ParseError).code).toBe('cancelled');
    } finally {
      await impatient.close();
    }
  });
});
