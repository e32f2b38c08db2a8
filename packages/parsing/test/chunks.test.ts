import { Chunk } from '@ragline/contracts';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildChunks, chunkId, countTokens, fineGrainedTokenize, formatCreateTime, initHashing, naiveMerge, parseDocument, tokenize } from '../src/index.js';

const task = { doc_id: 'doc-1', kb_id: 'kb-1', doc_name: '北京 Guide.md' };
const now = new Date(2024, 0, 2, 3, 4, 5, 678); // local time

describe('buildChunks', () => {
  beforeAll(async () => {
    await initHashing();
  });

  it('fills RAGFlow fields for each chunk', () => {
    const merged = naiveMerge([{ text: 'First sentence here. 北京欢迎你' }, { text: 'Second line' }], { chunkTokenNum: 4 });
    const chunks = buildChunks(task, merged, now);
    expect(chunks).toHaveLength(merged.length);
    const c = chunks[1]!;
    const text = merged[1]!.text;
    expect(c).toEqual({
      id: chunkId(text, 'doc-1'),
      doc_id: 'doc-1',
      kb_id: 'kb-1',
      docnm_kwd: '北京 Guide.md',
      title_tks: tokenize('北京 Guide'),
      title_sm_tks: fineGrainedTokenize(tokenize('北京 Guide')),
      content_with_weight: text,
      content_ltks: tokenize(text),
      content_sm_ltks: fineGrainedTokenize(tokenize(text)),
      page_num_int: [2],
      position_int: [[2, 1, 1, 1, 1]],
      top_int: [1],
      important_kwd: [],
      create_time: '2024-01-02 03:04:05',
      create_timestamp_flt: now.getTime() / 1000,
      img_id: '',
      token_count: countTokens(text),
    });
    expect(c.title_tks).toBe('北京 guid');
    expect(chunks[0]!.page_num_int).toEqual([1]);
    expect(chunks[0]!.position_int).toEqual([[1, 0, 0, 0, 0]]);
    for (const chunk of chunks) expect(Chunk.safeParse(chunk).success).toBe(true);
  });

  it('collapses chunks with identical content, keeping the first', () => {
    const merged = naiveMerge([{ text: 'same\nother\nsame' }], { chunkTokenNum: 1 });
    expect(merged.map((m) => m.text)).toEqual(['\nsame', '\nother', '\nsame']);
    const chunks = buildChunks(task, merged, now);
    expect(chunks.map((c) => c.content_with_weight)).toEqual(['\nsame', '\nother']);
    expect(chunks[0]!.page_num_int).toEqual([1]);
    expect(new Set(chunks.map((c) => c.id)).size).toBe(2);
  });

  it('uses real positions when the merger has them (1-based pages)', () => {
    const merged = naiveMerge([{ text: 'on page three', page: 2, position: [2, 10.7, 200.2, 55.9, 70.1] }], {});
    const [c] = buildChunks(task, merged, now);
    expect(c!.page_num_int).toEqual([3]);
    expect(c!.position_int).toEqual([[3, 10, 200, 55, 70]]);
    expect(c!.top_int).toEqual([55]);
  });

  it('strips table tags before tokenising and writes pagerank_fea when set', () => {
    const merged = [{ text: '<table><tr><td>cell</td></tr></table>', tokens: 5, pages: [], positions: [] }];
    const [c] = buildChunks({ ...task, pagerank: 7 }, merged, now);
    expect(c!.content_ltks).toBe('cell');
    expect(c!.content_with_weight).toBe('<table><tr><td>cell</td></tr></table>');
    expect(c!['pagerank_fea']).toBe(7);
  });

  it('formats create_time in local time with zero padding', () => {
    expect(formatCreateTime(new Date(2025, 10, 9, 23, 0, 1))).toBe('2025-11-09 23:00:01');
  });

  it('goes from a Markdown file to valid chunk documents', async () => {
    const md = '# Install\n\nRun the installer.\n\n## Configure\n\nEdit `ragline.yaml`。然后重启服务！';
    const doc = await parseDocument({ name: 'guide.md', data: new TextEncoder().encode(md) });
    const chunks = buildChunks(task, naiveMerge(doc.sections, { chunkTokenNum: 8 }), now);
    expect(chunks.length).toBeGreaterThan(1);
    expect(chunks[0]!.content_with_weight).toContain('# Install');
    for (const chunk of chunks) expect(Chunk.parse(chunk).id).toMatch(/^[0-9a-f]{16}$/);
  });
});
