import { describe, expect, it } from 'vitest';
import { planParser, type Section } from '../src/index.js';
import { paperParts } from '../src/methods/paper.js';

const box = (text: string, layout = 'text', page = 0, top = 0): Section => ({ text, page, layout, position: [page, 72, 500, top, top + 10] });
const ABSTRACT = 'We show that a long enough abstract, of more than sixty-four characters, is a chunk of its own.';

describe('paper parts (rag/app/paper.py Pdf)', () => {
  it('finds the first title block as title, up to three blocks after it as authors, and a long abstract', () => {
    const parts = paperParts([box('A Study', 'title'), box('Ada Lovelace'), box('Charles Babbage'), box('Abstract', 'title'), box(ABSTRACT), box('1. Introduction', 'title'), box('Body.')]);
    expect(parts.title).toBe('A Study');
    // the "Abstract" heading stops the authors
    expect(parts.authors).toBe('Ada Lovelace Charles Babbage');
    expect(parts.abstract?.text).toBe(ABSTRACT.toLowerCase());
    // the body starts after the abstract
    expect(parts.sections.map((s) => s.text)).toEqual(['1. Introduction', 'Body.']);
  });

  it('stops the authors at a line with "@", takes an abstract that starts its own block, and keeps everything when there is none', () => {
    const inline = `Abstract: ${ABSTRACT}`;
    const parts = paperParts([box('Title', 'title'), box('Ada'), box('ada@example.org'), box(inline), box('Body.')]);
    expect(parts.authors).toBe('Ada');
    expect(parts.abstract?.text).toBe(inline.toLowerCase());
    const none = paperParts([box('Abstract', 'title'), box('short'), box('Body.')]);
    expect(none.title).toBe('');
    expect(none.abstract).toBeUndefined();
    expect(none.sections).toHaveLength(3);
  });

  it('has no title, authors or abstract for a task that starts past the first page', () => {
    const parts = paperParts([box('Later Title', 'title', 3), box(ABSTRACT, 'text', 3)]);
    expect(parts).toEqual({ title: '', authors: '', sections: [expect.objectContaining({ text: 'Later Title' }), expect.objectContaining({ text: ABSTRACT })] });
  });

  it('reads PDF only, as RAGFlow', () => {
    expect(planParser('paper', 'pdf')).toEqual({ method: 'paper' });
    expect(planParser('paper', 'docx').method).toBe('naive');
  });
});
