import type { DocStore, StoredChunk } from '@ragline/docstore';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEnvironment, type Environment } from '../support/pipeline.js';
import { makeTextPdf } from '../support/pdf.js';

describe('PDF end to end: page-range tasks through the six processes', () => {
  let env: Environment;
  let docstore: DocStore | undefined;

  beforeAll(async () => {
    env = await createEnvironment({ PARSER_BATCH_CHUNKS: '8' });
    env.startAll();
  });

  afterAll(async () => {
    await docstore?.close();
    await env?.cleanup();
  });

  it('splits a 30-page PDF into 3 tasks whose chunks carry page numbers inside their ranges, and finishes the document', async () => {
    const pdf = await makeTextPdf(30);
    const tenantId = await env.taskdb.ensureTenant({ name: 'e2e', embdId: 'ragline-hash-1024@Ragline' });
    const kb = await env.taskdb.ensureKnowledgebase({
      name: 'pdf',
      tenantId,
      embdId: 'ragline-hash-1024@Ragline',
      // small chunks, so every page makes chunks of its own and pages are easy to check
      parserConfig: { chunk_token_num: 24, delimiter: '\n', layout_recognize: 'DeepDOC' },
    });
    await env.store.put(kb.id, 'manual.pdf', pdf);
    const doc = await env.taskdb.createDocument({
      kbId: kb.id,
      name: 'manual.pdf',
      location: 'manual.pdf',
      size: pdf.byteLength,
      type: 'pdf',
      suffix: 'pdf',
      parserId: 'naive',
      parserConfig: kb.parser_config,
    });
    const tasks = await env.taskdb.queueDocument(doc.id, { pages: 30 });
    expect(tasks.map((t) => [t.from_page, t.to_page])).toEqual([
      [0, 12],
      [12, 24],
      [24, 30],
    ]);
    for (const t of tasks) await env.producer.enqueue(env.queues[1]!, { ...t });

    const done = await env.waitForDocument(doc.id, 'document done', 150_000);

    docstore = env.docstore();
    let total = 0;
    for (const t of tasks) {
      const row = (await env.taskdb.getTask(t.id))!;
      expect(row.progress).toBe(1);
      const ids = row.chunk_ids.split(' ').filter(Boolean);
      expect(ids.length).toBeGreaterThan(0);
      total += ids.length;
      const chunks = (await docstore.get(tenantId, ids)) as StoredChunk[];
      expect(chunks).toHaveLength(ids.length);
      const pagesSeen = new Set<number>();
      for (const c of chunks) {
        const rec = c as unknown as { page_num_int: number[]; position_int: number[]; top_int: number[] };
        expect(rec.page_num_int.length).toBeGreaterThan(0);
        for (const p of rec.page_num_int) {
          // page_num_int is 1-based; the task covers 0-based [from_page, to_page)
          expect(p).toBeGreaterThanOrEqual(t.from_page + 1);
          expect(p).toBeLessThanOrEqual(t.to_page);
          pagesSeen.add(p);
        }
        expect(rec.top_int.length).toBe(rec.page_num_int.length);
        // the text names its page: it must be one of the chunk's pages
        for (const m of c.content_with_weight.matchAll(/page (\d+)/gi)) expect(rec.page_num_int).toContain(Number(m[1]));
      }
      expect(pagesSeen.size).toBe(t.to_page - t.from_page);
    }
    expect(done.chunk_num).toBe(total);
    expect(await docstore.count(tenantId, { doc_id: doc.id })).toBe(total);
  });
});
