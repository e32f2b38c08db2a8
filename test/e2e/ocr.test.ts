// A scanned PDF end to end through the five apps: license text laid out by pdfkit, rendered at 150 dpi
// by poppler's pdftoppm and made an image-only PDF by img2pdf, as a scanner makes one; split into
// RAGFlow's 12-page tasks, OCR'd by the parser, searchable by what the page images say; and a scan
// cancelled mid-way stops within 5 s. OCR_E2E_PAGES sets the size of the searchable scan: CI runs 14
// pages (two tasks, about a minute on two cores); `OCR_E2E_PAGES=100` is the 100-page run
// (about 4 minutes on two idle cores). Needs poppler-utils and img2pdf (.ci/run installs them).
import type { DocStore, StoredChunk } from '@ragline/docstore';
import { cancelTask } from '@ragline/redis-queue';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { licensePdf, scanPdf } from '../../bench/lib/scan.mjs';
import { createEnvironment, type Environment } from '../support/pipeline.js';

const PAGES = Number(process.env.OCR_E2E_PAGES ?? 14);
const CANCEL_PAGES = 24;

// The page text this test's timings and search checks were set with: shorter than the bench's pages.
const SCANNED_TEXT = { licenses: ['GPL-3', 'Apache-2.0', 'LGPL-2.1', 'MPL-2.0'], chars: 1500, maxChars: 1700 };

describe('scanned PDF end to end: OCR in 12-page tasks through the five apps', () => {
  let env: Environment;
  let docstore: DocStore | undefined;

  beforeAll(async () => {
    env = await createEnvironment({ PARSER_OCR_CONCURRENCY: '2', PARSER_CONCURRENCY: '2' });
    env.startAll();
  });

  afterAll(async () => {
    await docstore?.close();
    await env?.cleanup();
  });

  it(`makes a ${PAGES}-page scan searchable by the text on its page images, each chunk on its page`, { timeout: 120_000 + PAGES * 8_000 }, async () => {
    const data = scanPdf(await licensePdf(PAGES, SCANNED_TEXT));
    const { doc, tasks, tenantId, kb } = await env.addDocument('scanned-contract.pdf', data, {
      kb: 'scans',
      type: 'pdf',
      info: { pages: PAGES },
      parserConfig: { chunk_token_num: 128, delimiter: '\n', layout_recognize: 'DeepDOC' },
    });
    const ranges = tasks.map((t) => [t.from_page, t.to_page]);
    expect(ranges[0]).toEqual([0, Math.min(12, PAGES)]);
    expect(ranges.at(-1)![1]).toBe(PAGES);
    expect(tasks).toHaveLength(Math.ceil(PAGES / 12));
    for (const t of tasks) await env.producer.enqueue(env.queues[1]!, { ...t });

    const done = await env.waitForDocument(doc.id, 'scanned document done', { timeoutMs: 60_000 + PAGES * 8_000, everyMs: 500 });
    // every page was OCR'd and reported
    expect(done.progress_msg).toMatch(/OCR read \d+ of \d+ pages/);

    docstore = env.docstore();
    let total = 0;
    for (const t of tasks) {
      const row = (await env.taskdb.getTask(t.id))!;
      expect(row.progress).toBe(1);
      const ids = row.chunk_ids.split(' ').filter(Boolean);
      total += ids.length;
      const chunks = (await docstore.get(tenantId, ids)) as StoredChunk[];
      const pagesSeen = new Set<number>();
      for (const c of chunks) {
        const rec = c as unknown as { page_num_int: number[]; position_int: number[][]; top_int: number[] };
        for (const p of rec.page_num_int) {
          expect(p).toBeGreaterThanOrEqual(t.from_page + 1);
          expect(p).toBeLessThanOrEqual(t.to_page);
          pagesSeen.add(p);
        }
        // boxes in points on a LETTER page (612 x 792), as a text-layer page has them
        for (const [, x0, x1, top, bottom] of rec.position_int) {
          expect(0 <= x0! && x0! < x1! && x1! <= 612 && 0 <= top! && top! < bottom! && bottom! <= 792).toBe(true);
        }
        // a heading OCR'd as "Exhibit N" is on page N
        for (const m of c.content_with_weight.matchAll(/Exhibit (\d+)/g)) expect(rec.page_num_int).toContain(Number(m[1]));
      }
      expect(pagesSeen.size).toBe(t.to_page - t.from_page);
    }
    expect(done.chunk_num).toBe(total);

    // searchable by what the images say: a page's heading finds that page
    for (const page of [2, PAGES - 1]) {
      const hits = await docstore.search({ tenantId, kbIds: [kb.id], query: `Exhibit ${page}`, mode: 'fulltext', topK: 5 });
      const hit = hits.find((h) => h.content_with_weight.includes(`Exhibit ${page}`));
      expect(hit, `Exhibit ${page}`).toBeDefined();
      expect((hit as unknown as { page_num_int: number[] }).page_num_int).toContain(page);
    }
  });

  it('stops a scan cancelled mid-way within 5 s', { timeout: 180_000 }, async () => {
    const data = scanPdf(await licensePdf(CANCEL_PAGES, SCANNED_TEXT));
    const { tasks } = await env.addDocument('scan-to-cancel.pdf', data, {
      kb: 'scans',
      type: 'pdf',
      info: { pages: CANCEL_PAGES },
      parserConfig: { chunk_token_num: 128, delimiter: '\n', layout_recognize: 'DeepDOC' },
    });
    expect(tasks).toHaveLength(2);
    for (const t of tasks) await env.producer.enqueue(env.queues[1]!, { ...t });
    // mid-way: a page of the first task has been OCR'd (the monitor writes the parser's page progress)
    const first = tasks[0]!;
    await env.waitFor(
      'the first OCR page of the task',
      async () => {
        const t = await env.taskdb.getTask(first.id);
        if (t && t.progress >= 1) throw new Error('the task finished before it could be cancelled');
        return t?.progress_msg.includes('OCR: page') ? t : undefined;
      },
      { timeoutMs: 120_000, everyMs: 100 },
    );
    const cancelledAt = Date.now();
    for (const t of tasks) await cancelTask(env.redis, t.id);
    const stopped = (taskId: string) => env.logs.some((l) => l.app.startsWith('parser') && l.line.includes(taskId) && /cancelled (while|before) parsing/.test(l.line));
    await env.waitFor('the parser to stop the cancelled task', async () => stopped(first.id), { timeoutMs: 5_000, everyMs: 50 });
    const took = Date.now() - cancelledAt;
    expect(took).toBeLessThan(5_000);
    const t = await env.waitFor('the cancel on the task row', async () => {
      const row = await env.taskdb.getTask(first.id);
      return row && row.progress === -1 ? row : undefined;
    });
    expect(t.progress_msg).toContain('[Canceled]');
    // the first task made no chunks
    expect(t.chunk_ids).toBe('');
  });
});
