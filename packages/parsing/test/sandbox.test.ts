import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ParseError, ParseSandbox, bytesSource, parseDocument, type ByteSource } from '../src/index.js';
import { makePdf } from './pdf-fixtures.js';
import { ensureBuilt } from './built-worker.js';

async function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e,
  );
}

// generous timeouts: each test starts worker processes, which is slow on a busy machine
describe('parse sandbox (worker processes with time and memory limits)', { timeout: 120_000 }, () => {
  let pdf: Buffer;
  const sandboxes: ParseSandbox[] = [];
  const sandbox = (opts: ConstructorParameters<typeof ParseSandbox>[0]): ParseSandbox => {
    const s = new ParseSandbox(opts);
    sandboxes.push(s);
    return s;
  };

  let shared: ParseSandbox;
  beforeAll(async () => {
    ensureBuilt();
    shared = sandbox({});
    pdf = await makePdf({ pages: 30, paragraphs: 4 });
  }, 120_000);

  afterAll(async () => {
    await Promise.all(sandboxes.map((s) => s.close()));
  });

  it('parses a PDF page range from a range reader in a worker, as in-process parsing does', async () => {
    const s = shared;
    let reads = 0;
    const inner = bytesSource(pdf);
    const source: ByteSource = { size: inner.size, read: (o, l) => (reads++, inner.read(o, l)) };
    const inWorker = await s.parse({ name: 'doc.pdf', source, fromPage: 12, toPage: 24 });
    const inProcess = await parseDocument({ name: 'doc.pdf', data: pdf, fromPage: 12, toPage: 24 });
    expect(inWorker).toEqual(inProcess);
    expect([...new Set(inWorker.sections.map((x) => x.page))]).toEqual([12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23]);
    expect(reads).toBeGreaterThan(0);
    // bytes work as well, and a document error comes back as the same ParseError while the worker is kept
    const text = await s.parse({ name: 'a.txt', data: Buffer.from('hello from a worker\n') });
    expect(text.sections.map((x) => x.text)).toEqual(['hello from a worker']);
    const locked = await makePdf({ pages: 1, userPassword: 'pw' });
    const err = await rejection(s.parse({ name: 'locked.pdf', data: locked }));
    expect(err).toBeInstanceOf(ParseError);
    expect((err as ParseError).code).toBe('encrypted');
    expect(s.workerCount).toBe(1);
  });

  it('stops a parse over the time limit with a clear, non-retryable error and goes on with the next one', async () => {
    const s = sandbox({ timeoutMs: 1000 });
    // far more than a second of work anywhere; the tiny parse after it takes milliseconds
    const big = await makePdf({ pages: 600, paragraphs: 6 });
    const started = Date.now();
    const err = await rejection(s.parse({ name: 'slow.pdf', data: big }));
    expect(err).toBeInstanceOf(ParseError);
    expect((err as ParseError).code).toBe('time_limit');
    expect((err as ParseError).message).toBe('parsing exceeded the 1 s time limit');
    expect((err as ParseError).retryable).toBe(false);
    expect(Date.now() - started).toBeLessThan(60_000);
    const next = await s.parse({ name: 'next.txt', data: Buffer.from('the next task still parses\n') });
    expect(next.sections[0]!.text).toBe('the next task still parses');
  });

  it('stops a parse over the heap ceiling with a clear, non-retryable error and goes on with the next one', async () => {
    // 128 MB is about what loading the parsers needs plus a little
    const s = sandbox({ maxHeapMb: 128 });
    // 96 MiB of text: its string, a normalised copy and millions of line strings do not fit
    const huge = Buffer.alloc(96 * 1024 * 1024, 'lorem ipsum dolor sit amet\n');
    const err = await rejection(s.parse({ name: 'huge.txt', data: huge, maxBytes: 256 * 1024 * 1024 }));
    expect(err).toBeInstanceOf(ParseError);
    expect((err as ParseError).code).toBe('memory_limit');
    expect((err as ParseError).message).toBe('parsing exceeded the memory limit of 128 MB');
    expect((err as ParseError).retryable).toBe(false);
    const next = await s.parse({ name: 'next.pdf', data: pdf, fromPage: 0, toPage: 2 });
    expect([...new Set(next.sections.map((x) => x.page))]).toEqual([0, 1]);
  });

  it('passes a failed range read through as the storage error itself (keeping its retryability)', async () => {
    class StorageDown extends Error {
      readonly retryable = true;
    }
    const s = shared;
    const source: ByteSource = {
      size: pdf.byteLength,
      async read() {
        throw new StorageDown('object store unreachable');
      },
    };
    const err = await rejection(s.parse({ name: 'doc.pdf', source, fromPage: 0, toPage: 30 }));
    expect(err).toBeInstanceOf(StorageDown);
    // the worker is still good for the next parse
    expect((await s.parse({ name: 'ok.txt', data: Buffer.from('fine\n') })).sections[0]!.text).toBe('fine');
  });

  it('runs parses side by side in separate workers', async () => {
    const s = sandbox({ maxIdleWorkers: 2 });
    const [a, b] = await Promise.all([
      s.parse({ name: 'a.pdf', data: pdf, fromPage: 0, toPage: 12 }),
      s.parse({ name: 'b.pdf', data: pdf, fromPage: 12, toPage: 24 }),
    ]);
    expect(a.sections.every((x) => x.page! < 12)).toBe(true);
    expect(b.sections.every((x) => x.page! >= 12 && x.page! < 24)).toBe(true);
    expect(s.workerCount).toBe(2);
    await s.close();
    expect(s.workerCount).toBe(0);
    expect(await rejection(s.parse({ name: 'c.txt', data: Buffer.from('x') }))).toHaveProperty('name', 'ParseWorkerError');
  });
});
