import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { chunkDocument, parseDocument, planParser } from '../src/index.js';
import { bulletsCategory, hierarchicalMerge, removeContentsTable, treeMerge } from '../src/methods/hierarchy.js';

interface GoldenCase {
  name: string;
  method: 'laws' | 'book';
  language: string;
  parser_config: Record<string, unknown>;
  /** key of the input text in `texts` */
  text?: string;
  file?: string;
  chunks: string[];
  /** RAGFlow's page_num_int of each chunk (for text: its index among the chunks before blank ones were dropped, plus 1) */
  page_num_int: number[][];
}

const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url));
const golden = JSON.parse(readFileSync(here('./data/laws-book-golden.json'), 'utf8')) as { texts: Record<string, string>; cases: GoldenCase[] };

async function chunksOf(c: GoldenCase): Promise<{ texts: string[]; pages: number[][] }> {
  const data = c.file ? new Uint8Array(readFileSync(here(`../${c.file}`))) : new TextEncoder().encode(golden.texts[c.text!]);
  const parserConfig = { ...c.parser_config, language: c.language };
  const doc = await parseDocument({ name: c.name, data, parserId: c.method, parserConfig });
  expect(doc.method).toBe(c.method);
  const chunks = chunkDocument(doc, parserConfig);
  return { texts: chunks.map((ck) => ck.text), pages: chunks.map((ck) => ck.positions.map((p) => p[0]! + 1)) };
}

describe('laws and book against RAGFlow (golden/make_laws_book_golden.py)', () => {
  it.each(golden.cases.map((c) => [`${c.method} ${c.name}`, c] as const))('%s', async (_, c) => {
    const { texts, pages } = await chunksOf(c);
    expect(texts).toEqual(c.chunks);
    expect(pages).toEqual(c.page_num_int);
  });
});

describe('hierarchy helpers', () => {
  it('finds the bullet family most lines start with', () => {
    expect(bulletsCategory(['第一章 总则', '第一条 a', '第二条 b'])).toBe(0);
    expect(bulletsCategory(['1. Intro', '2. Body', 'text'])).toBe(1);
    expect(bulletsCategory(['# A', '## B', 'text'])).toBe(4);
    expect(bulletsCategory(['plain', 'text'])).toBe(-1);
    // not_bullet: "0", counts and dotted leaders are no bullets
    expect(bulletsCategory(['0 apples', '12 个', '3...... 5'])).toBe(-1);
  });

  it('drops a table of contents up to the line that starts like its first entry', () => {
    const lines = ['前言', '目录', '第一章 总则', '第二章 权利', '第一章 总则', '正文'];
    removeContentsTable(lines, false);
    expect(lines).toEqual(['前言', '第一章 总则', '正文']);
  });

  // expectations below are what RAGFlow's helpers return for these inputs (run with the generator's stand-ins)
  it('tree_merge makes a chunk of every title path down to the depth-th level; without bullets the lines stay as they are', () => {
    expect(treeMerge(0, ['第一章 总则', '第一条 甲。', '第二条 乙。', '第二章 附则', '第三条 丙。'], 2)).toEqual([
      '第一章 总则\n第一条 甲。',
      '第一章 总则\n第二条 乙。',
      '第二章 附则\n第三条 丙。',
    ]);
    expect(treeMerge(-1, ['a', 'b'], 2)).toEqual(['a', 'b']);
  });

  it('hierarchical_merge gives a body line the nearest title of each level above it', () => {
    expect(hierarchicalMerge(0, ['第一章 总则', '第一条 甲。', '正文一', '正文二'], 5)).toEqual([
      [],
      ['第一章 总则', '第一条 甲。', '正文一'],
      ['第一章 总则', '第一条 甲。', '正文二'],
    ]);
  });
});

describe('planParser', () => {
  it('chunks laws and book on text, Markdown, DOCX and PDF, and falls back on the others', () => {
    for (const f of ['text', 'markdown', 'docx', 'pdf']) {
      expect(planParser('laws', f)).toEqual({ method: 'laws' });
      expect(planParser('book', f)).toEqual({ method: 'book' });
    }
    expect(planParser('laws', 'table')).toEqual({ method: 'naive', note: "parser 'laws' does not read table files; chunked with 'naive'" });
    expect(planParser('book', 'pptx').method).toBe('naive');
  });
});
