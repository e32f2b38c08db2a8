// PDF parsing as the pipeline does it: 12-page tasks, each parsed in the parse sandbox (a worker
// process with a 512 MB heap ceiling) reading byte ranges of the file. Measures pages/s on a
// 300-page PDF and peak resident memory (parent and worker) while parsing a 1,000-page PDF.
import { makePdf } from './lib/pdf.mjs';
import { ParseSandbox, bytesSource, initHashing, mergeOptionsFromParserConfig, naiveMerge, buildChunks, pdfPageCount } from '@ragline/parsing';

const TASK_PAGES = 12;

/** Parses the whole PDF in 12-page tasks, one after another, the way one parser replica would. */
async function parseInTasks(sandbox, data, name) {
  const pages = await pdfPageCount(data);
  const cfg = { chunk_token_num: 512, delimiter: '\n' };
  let chunks = 0;
  let sections = 0;
  for (let from = 0; from < pages; from += TASK_PAGES) {
    const doc = await sandbox.parse({ name, source: bytesSource(data), fromPage: from, toPage: Math.min(from + TASK_PAGES, pages) });
    sections += doc.sections.length;
    const merged = naiveMerge(doc.sections, mergeOptionsFromParserConfig(cfg));
    chunks += buildChunks({ doc_id: 'd'.repeat(32), kb_id: 'k'.repeat(32), doc_name: name }, merged).length;
  }
  return { pages, tasks: Math.ceil(pages / TASK_PAGES), sections, chunks };
}

export async function run() {
  await initHashing();
  const sandbox = new ParseSandbox({ maxHeapMb: 512, sampleMs: 50 });
  try {
    // warm: start the worker and load pdf.js once, so the rate measures parsing
    const small = await makePdf(0, 12, 6);
    await sandbox.parse({ name: 'warm.pdf', source: bytesSource(small) });

    const pdf300 = await makePdf(0, 300, 6);
    const rounds = [];
    for (let round = 0; round < 2; round++) {
      const t0 = performance.now();
      const r = await parseInTasks(sandbox, pdf300, 'bench-300.pdf');
      const s = (performance.now() - t0) / 1000;
      rounds.push({ round, seconds: +s.toFixed(2), pages_per_s: +(r.pages / s).toFixed(1), tasks: r.tasks, chunks: r.chunks });
    }

    const pdf1000 = await makePdf(0, 1000, 6);
    let parentPeak = process.memoryUsage().rss;
    const sampler = setInterval(() => {
      parentPeak = Math.max(parentPeak, process.memoryUsage().rss);
    }, 50);
    const t0 = performance.now();
    const r = await parseInTasks(sandbox, pdf1000, 'bench-1000.pdf');
    const seconds = (performance.now() - t0) / 1000;
    clearInterval(sampler);
    const parentMb = Math.round(parentPeak / 1048576);
    const workerMb = sandbox.peakWorkerRssMb;
    return {
      task_pages: TASK_PAGES,
      pdf_300: { bytes: pdf300.byteLength, rounds },
      pdf_1000: {
        bytes: pdf1000.byteLength,
        tasks: r.tasks,
        chunks: r.chunks,
        seconds: +seconds.toFixed(2),
        pages_per_s: +(r.pages / seconds).toFixed(1),
        peak_rss_parent_mb: parentMb,
        peak_rss_worker_mb: workerMb,
        peak_rss_total_mb: parentMb + workerMb,
        target_mb: 512,
        under_target: parentMb + workerMb < 512,
      },
    };
  } finally {
    await sandbox.close();
  }
}
