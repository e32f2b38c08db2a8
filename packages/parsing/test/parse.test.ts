import iconv from 'iconv-lite';
import { describe, expect, it } from 'vitest';
import { markdownSections, parseDocument, textSections } from '../src/index.js';
import { parseError } from './parse-error.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('markdown', () => {
  const md = [
    '# Title',
    '',
    'Intro paragraph.',
    '',
    '## Code',
    '',
    '```python',
    'def f():',
    '',
    '    # not a heading',
    '    return 1',
    '```',
    '',
    '## Table',
    '',
    '| a | b |',
    '|---|---|',
    '| 1 | 2 |',
    '',
    'Setext heading',
    '--------------',
    '',
    '- item one',
    '- item two',
  ].join('\n');

  it('starts a section at every heading and keeps the heading text', () => {
    const sections = markdownSections(md).map((s) => s.text);
    expect(sections).toEqual([
      '# Title\n\nIntro paragraph.',
      '## Code\n\n```python\ndef f():\n\n    # not a heading\n    return 1\n```',
      '## Table\n\n| a | b |\n|---|---|\n| 1 | 2 |',
      'Setext heading\n--------------\n\n- item one\n- item two',
    ]);
  });

  it('keeps YAML front matter out of the first heading', () => {
    const sections = markdownSections('---\ntitle: x\n---\n# Real\n\nbody').map((s) => s.text);
    expect(sections).toEqual(['---\ntitle: x\n---', '# Real\n\nbody']);
  });

  it('parses .md files through parseDocument', async () => {
    const doc = await parseDocument({ name: 'Guide.MD', data: enc(md) });
    expect(doc.format).toBe('markdown');
    expect(doc.encoding).toBe('utf-8');
    expect(doc.sections).toHaveLength(4);
    expect(doc.notes).toEqual([]);
  });

  it('keeps text before the first heading as its own section', () => {
    expect(markdownSections('preface\n\n# H\n\nbody').map((s) => s.text)).toEqual(['preface', '# H\n\nbody']);
  });
});

describe('text', () => {
  it('groups lines into paragraph sections', () => {
    expect(textSections('line one\nline two\n\n\nnext para\r\nmore', 512).map((s) => s.text)).toEqual([
      'line one\nline two',
      'next para\nmore',
    ]);
  });

  it('cuts long paragraphs at line boundaries near the token limit', () => {
    const lines = Array.from({ length: 30 }, (_, i) => `this is line number ${i}`);
    const sections = textSections(lines.join('\n'), 20);
    expect(sections.length).toBeGreaterThan(5);
    expect(sections.map((s) => s.text).join('\n')).toBe(lines.join('\n'));
  });

  it('decodes GBK .txt files and reports the encoding', async () => {
    const text = '第一章 总则\n为了规范管理，制定本办法。\n\n第二章 附则';
    const doc = await parseDocument({ name: 'rules.txt', data: iconv.encode(text, 'gbk') });
    expect(doc).toMatchObject({ format: 'text', encoding: 'gb18030' });
    expect(doc.sections.map((s) => s.text)).toEqual(['第一章 总则\n为了规范管理，制定本办法。', '第二章 附则']);
  });

  it('accepts .log files and notes a parser it does not implement', async () => {
    const doc = await parseDocument({ name: 'server.log', data: enc('started\nstopped'), parserId: 'paper' });
    expect(doc.format).toBe('text');
    expect(doc.notes).toEqual(["parser 'paper' does not read text files; chunked with 'naive'"]);
  });
});

describe('parseDocument errors', () => {
  it('rejects unsupported extensions naming the extension and the supported list', async () => {
    const err = await parseError({ name: 'deck.key', data: enc('x') });
    expect(err.code).toBe('unsupported_format');
    expect(err.message).toMatch(/\.key/);
    expect(err.message).toMatch(/\.txt.*\.md/);
  });

  it('reports empty files by name', async () => {
    expect((await parseError({ name: 'report.txt', data: new Uint8Array() })).message).toBe('empty file: report.txt has no text');
    expect((await parseError({ name: 'blank.md', data: enc('\n  \n\t\n') })).code).toBe('empty');
  });

  it('reports binary content in a .txt file', async () => {
    // a JPEG signature: read as a JPEG whatever the extension says, and this one is only a header
    const err = await parseError({ name: 'image.txt', data: new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46]) });
    expect(err.code).toBe('corrupt');
    expect(err.message).toMatch(/^corrupt image: image\.txt could not be decoded/);
    // NUL bytes without a signature stay the decoder's binary error
    const nul = await parseError({ name: 'blob.txt', data: new Uint8Array([0x00, 0x10, 0x4a, 0x46, 0x00]) });
    expect(nul.code).toBe('binary');
    expect(nul.message).toMatch(/blob\.txt/);
  });

  it('enforces the size limit', async () => {
    const err = await parseError({ name: 'big.txt', data: enc('x'.repeat(100)), maxBytes: 10 });
    expect(err.code).toBe('too_large');
  });

  it('rejects page ranges an unpaged file cannot satisfy', async () => {
    expect((await parseError({ name: 'a.txt', data: enc('x'), fromPage: 12, toPage: 24 })).code).toBe('page_range');
    expect((await parseError({ name: 'a.txt', data: enc('x'), fromPage: 5, toPage: 2 })).code).toBe('page_range');
  });
});
