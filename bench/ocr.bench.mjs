// OCR of scanned PDFs as the parser stage does it: 12-page tasks in the parse sandbox, each page
// without a text layer rendered (pdf.js + @napi-rs/canvas) and read by tesseract.js, at most
// PARSER_OCR_CONCURRENCY pages at once per replica. One parser replica (PARSER_CONCURRENCY = 2 tasks
// at once) against two replicas side by side, pulling tasks from one queue: pages/s per replica and
// per core, peak resident memory per parse worker, and the character error rate of the OCR text
// against the source PDF's text layer. The scan is license text at 150 dpi (bench/lib/scan.mjs).
// BENCH_OCR_PAGES (default 48), BENCH_OCR_DPI (default 150), BENCH_OCR_CONCURRENCY (default 2).
import { availableParallelism, loadavg } from 'node:os';
import { ParseSandbox, bytesSource, pdfPageCount } from '@ragline/parsing';
import { distance } from 'fastest-levenshtein';
import { licensePdf, pageText, scanPdf } from './lib/scan.mjs';

const TASK_PAGES = 12;
const PARSER_CONCURRENCY = 2;

const cer = (ocr, truth) => {
  const a = ocr.replace(/\s+/g, '');
  const b = truth.replace(/\s+/g, '');
  return distance(a, b) / Math.max(1, b.length);
};

/** Every 12-page task of the scan, parsed by `replicas` sandboxes with PARSER_CONCURRENCY tasks each. */
async function runReplicas(replicas, scan, pages, ocrConcurrency) {
  const sandboxes = Array.from({ length: replicas }, () => new ParseSandbox({ ocrConcurrency, maxIdleWorkers: PARSER_CONCURRENCY, sampleMs: 50 }));
  try {
    // warm: start every worker process and its OCR engine, so the rate measures OCR
    const one = { name: 'warm.pdf', source: bytesSource(scan), fromPage: 0, toPage: 1 };
    await Promise.all(sandboxes.flatMap((s) => Array.from({ length: PARSER_CONCURRENCY }, () => s.parse(one))));
    const tasks = [];
    for (let from = 0; from < pages; from += TASK_PAGES) tasks.push([from, Math.min(from + TASK_PAGES, pages)]);
    const texts = new Map();
    const perReplica = sandboxes.map(() => 0);
    const loadBefore = loadavg()[0];
    const t0 = performance.now();
    // each replica's task slots take turns at the queue, as replicas pulling from one JetStream consumer would
    const slots = Array.from({ length: PARSER_CONCURRENCY }, () => sandboxes.map((s, r) => [s, r])).flat();
    await Promise.all(
      slots.map(([s, r]) =>
        (async () => {
          for (let task = tasks.shift(); task; task = tasks.shift()) {
            const [fromPage, toPage] = task;
            const doc = await s.parse({ name: 'scan.pdf', source: bytesSource(scan), fromPage, toPage });
            for (const sec of doc.sections) texts.set(sec.page, `${texts.get(sec.page) ?? ''}\n${sec.text}`);
            perReplica[r] += toPage - fromPage;
          }
        })(),
      ),
    );
    const seconds = (performance.now() - t0) / 1000;
    return {
      replicas,
      seconds: +seconds.toFixed(1),
      pages_per_s: +(pages / seconds).toFixed(3),
      pages_per_s_per_replica: +(pages / seconds / replicas).toFixed(3),
      pages_by_replica: perReplica,
      peak_worker_rss_mb: Math.max(...sandboxes.map((s) => s.peakWorkerRssMb)),
      // the machine's 1-minute load before and after: other work on the cores skews the rates
      load_avg: [+loadBefore.toFixed(1), +loadavg()[0].toFixed(1)],
      texts,
    };
  } finally {
    await Promise.all(sandboxes.map((s) => s.close()));
  }
}

export async function run() {
  const pages = Number(process.env.BENCH_OCR_PAGES ?? 48);
  const dpi = Number(process.env.BENCH_OCR_DPI ?? 150);
  const ocrConcurrency = Number(process.env.BENCH_OCR_CONCURRENCY ?? 2);
  const source = await licensePdf(pages);
  const scan = scanPdf(source, dpi);
  if ((await pdfPageCount(scan)) !== pages) throw new Error('the scan lost pages');
  const cores = availableParallelism();
  const results = [];
  for (const replicas of [1, 2]) {
    const { texts, ...r } = await runReplicas(replicas, scan, pages, ocrConcurrency);
    const rates = [];
    for (let p = 0; p < pages; p++) rates.push(cer(texts.get(p) ?? '', pageText(source, p + 1)));
    results.push({
      ...r,
      pages_per_s_per_core: +(r.pages_per_s / Math.min(cores, replicas * ocrConcurrency)).toFixed(3),
      cer_mean: +(rates.reduce((a, b) => a + b, 0) / rates.length).toFixed(4),
      cer_max: +Math.max(...rates).toFixed(4),
    });
    console.log(JSON.stringify(results.at(-1)));
  }
  return {
    pages,
    dpi,
    task_pages: TASK_PAGES,
    parser_concurrency: PARSER_CONCURRENCY,
    ocr_concurrency_per_replica: ocrConcurrency,
    cores,
    scan_bytes: scan.byteLength,
    engine: 'tesseract.js 7 (Tesseract 5 LSTM, eng+chi_sim best_int), pages rendered at 300 dpi',
    targets: { pages_per_s_per_core: 1, peak_worker_rss_mb: 768 },
    runs: results,
  };
}
