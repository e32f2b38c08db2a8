import { describe, expect, it } from 'vitest';
import { planParser, type Section } from '../src/index.js';
import { manualDocxChunks, manualPdfChunks, outlineOverlap, sectionIds, titleFrequency } from '../src/methods/manual.js';

const box = (text: string, top: number, layout = 'text', page = 0): Section => ({ text, page, layout, position: [page, 72, 300, top, top + 10] });

describe('manual helpers (rag/app/manual.py, rag/nlp title_frequency)', () => {
  it('matches a block to a bookmark by the character bigrams of the bookmark title', () => {
    expect(outlineOverlap('Installation', 'Installation')).toBe(1);
    // RAGFlow takes one bigram more of the block than the title has: 11 of 12 shared
    expect(outlineOverlap('Installation', 'Installation and upgrades')).toBeCloseTo(11 / 12);
    expect(outlineOverlap('Installation', 'Configuration')).toBeLessThan(0.8);
    expect(outlineOverlap('', 'anything')).toBe(0);
  });

  it('gives bullet lines their pattern level, title blocks the level below the bullets, and finds the most frequent title level', () => {
    // family 0: 编/部分, 章, 节, 条, （一）: five patterns, title blocks are level 5, body 6
    const [most, levels] = titleFrequency(0, [
      ['第一章 总则', ''],
      ['第一条 甲。', ''],
      ['第二条 乙。', ''],
      ['附录', 'title'],
      ['正文', 'text'],
    ]);
    expect(levels).toEqual([1, 3, 3, 5, 6]);
    expect(most).toBe(3);
    // without a bullet family everything is body
    expect(titleFrequency(-1, [['a', 'title'], ['b', '']])).toEqual([7, [7, 7]]);
  });

  it('starts a section at every change of level at or above the most frequent one', () => {
    expect(sectionIds([1, 3, 6, 3, 6, 1, 6], 3)).toEqual([0, 1, 1, 2, 2, 3, 3]);
  });

  it('on PDF packs blocks while the chunk is under 32 tokens, and within a section under 1024, in page / top / left order', () => {
    const long = 'word '.repeat(40).trim();
    const sections = [box('Intro', 10, 'title'), box(long, 20), box('Usage', 40, 'title'), box(long, 50), box('late on page 1', 5, 'text', 1)];
    const outline = [
      { title: 'Intro', depth: 0, page: 1 },
      { title: 'Usage', depth: 0, page: 1 },
    ];
    const chunks = manualPdfChunks(sections, outline);
    expect(chunks.map((c) => c.text)).toEqual([`Intro\n${long}`, `Usage\n${long}\nlate on page 1`]);
    expect(chunks[1]!.positions.map((p) => p[0])).toEqual([0, 0, 1]);
  });

  it('on DOCX heads each answer with its headings, drops text before the first heading, and puts tables first', () => {
    const chunks = manualDocxChunks([
      { text: '<table><tr><td>a</td></tr></table>', table: true },
      { text: 'Preface without a heading' },
      { text: 'Setup', heading: 1 },
      { text: 'Install it.' },
      { text: 'Linux', heading: 2 },
      { text: '' },
      { text: 'Use apt.' },
      { text: 'Usage', heading: 1 },
      { text: 'Run it.' },
    ]);
    expect(chunks.map((c) => c.text)).toEqual([
      '<table><tr><td>a</td></tr></table>',
      'Setup\n\nInstall it.',
      'Setup\nLinux\n\n\nUse apt.',
      'Usage\n\nRun it.',
    ]);
    expect(chunks[0]!.fields).toEqual({ doc_type_kwd: 'table', page_num_int: [], position_int: [], top_int: [] });
  });

  it('reads PDF and DOCX, and falls back to naive on other files as RAGFlow refuses them', () => {
    expect(planParser('manual', 'pdf')).toEqual({ method: 'manual' });
    expect(planParser('manual', 'docx')).toEqual({ method: 'manual' });
    expect(planParser('manual', 'text')).toEqual({ method: 'naive', note: "parser 'manual' does not read text files; chunked with 'naive'" });
  });
});
