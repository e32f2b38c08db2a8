import { randomUUID } from 'node:crypto';
import { InMemorySpanExporter, SimpleSpanProcessor, startTelemetry } from '@ragline/telemetry';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEnricher, type EnrichChunk } from '../src/index.js';
import { startChatFixture, type ChatFixture, type FixtureRequest } from '../src/testing/index.js';
import { registryFor, testRedis, uniqueModel } from './helpers.js';

const redis = testRedis();
const task = { task_id: 'task-toc', doc_id: 'doc-9', kb_id: 'kb-1', tenant_id: 'tenant-1' };
const chunk = (i: number, text: string): EnrichChunk => ({ id: i.toString(16).padStart(16, 'a'), doc_id: 'doc-9', content_with_weight: text, page_num_int: [1], top_int: [i] });
afterAll(() => redis.disconnect());

describe('buildToc with awkward model answers', () => {
  let fx: ChatFixture;
  let headings: string;
  beforeAll(async () => {
    fx = await startChatFixture({
      answer: (r: FixtureRequest) => {
        const system = r.messages[0]!.content;
        // cut off before its end, as a model at its token limit answers: read with JSON repair
        if (system.includes('find the headings')) return headings.slice(0, -2);
        return JSON.stringify((JSON.parse(r.messages[1]!.content.replace(/'/g, '"')) as string[]).map((t) => ({ level: t.startsWith('Part') ? '1' : '2', title: t })));
      },
    });
  });
  afterAll(() => fx.close());

  it('repairs a cut-off answer, skips entries without a usable chunk_id and keeps them in the TOC without ids', async () => {
    const model = uniqueModel();
    const enricher = createEnricher({ registry: registryFor(fx.url, model), redis });
    headings = JSON.stringify([
      { title: 'Part One', chunk_id: '0' },
      { title: '-1', chunk_id: '1' },
      { title: '12.3 (4)', chunk_id: '1' },
      { title: 'Detail A', chunk_id: 'x' },
      { title: 'Detail B', chunk_id: '9' },
      { title: 'Part Two', chunk_id: ' 2 ' },
      { title: 'Detail C', chunk_id: '' },
    ]);
    const chunks = [chunk(0, `Part One ${randomUUID()}`), chunk(1, 'body'), chunk(2, 'Part Two'), chunk(3, 'tail')];
    const r = await enricher.buildToc({ spec: { llm_id: model }, task, chunks });
    // one call for the headings of the (single) batch, one for their levels
    expect(r.llmCalls).toBe(2);
    const toc = JSON.parse(r.chunk!.content_with_weight) as Array<Record<string, unknown>>;
    expect(toc).toEqual([
      // "-1" and the numbers-only title are filtered; the next entry's chunk_id "x" is not an int
      { level: '1', title: 'Part One', ids: [chunks[0]!.id] },
      { level: '2', title: 'Detail A' },
      // chunk 9 is past the end
      { level: '2', title: 'Detail B' },
      // int(" 2 ") is 2; the next chunk_id is empty, so no range
      { level: '1', title: 'Part Two', ids: [chunks[2]!.id] },
      { level: '2', title: 'Detail C' },
    ]);
    // the whole task again: every call is a cache hit
    const again = await enricher.buildToc({ spec: { llm_id: model }, task, chunks });
    expect(again).toMatchObject({ llmCalls: 0, cacheHits: 2 });
    expect(again.chunk!.id).toBe(r.chunk!.id);
  });

  it('returns no chunk when the model finds no headings', async () => {
    const model = uniqueModel();
    headings = JSON.stringify([{ title: '-1', chunk_id: '0' }]);
    const r = await createEnricher({ registry: registryFor(fx.url, model), redis }).buildToc({ spec: { llm_id: model }, task, chunks: [chunk(0, `plain ${randomUUID()}`)] });
    expect(r.chunk).toBeUndefined();
  });
});

describe('spans', () => {
  it('records one span per LLM step with the model, the kind and whether the cache answered', async () => {
    const fx = await startChatFixture();
    try {
      const exporter = new InMemorySpanExporter();
      const tracer = startTelemetry({ serviceName: 'enrichment-test', env: {}, spanProcessors: [new SimpleSpanProcessor(exporter)] }).tracer;
      const model = uniqueModel();
      const enricher = createEnricher({ registry: registryFor(fx.url, model), redis, tracer });
      const chunks = [chunk(1, `span text ${randomUUID()}`)];
      const spec = { llm_id: `${model}@F`, language: 'English', auto_keywords: 2, auto_questions: 1 };
      await enricher.enrichBatch({ spec, task, chunks });
      await enricher.enrichBatch({ spec, task, chunks });
      const spans = exporter.getFinishedSpans().filter((s) => s.name === 'enrichment.chat');
      expect(spans.map((s) => [s.attributes['enrichment.kind'], s.attributes['enrichment.cache_hit']])).toEqual([
        ['keywords', false],
        ['questions', false],
        ['keywords', true],
        ['questions', true],
      ]);
      expect(spans[0]!.attributes['gen_ai.request.model']).toBe(model);
      expect(spans[0]!.attributes['enrichment.llm_name']).toBe(model);
    } finally {
      await fx.close();
    }
  });
});
