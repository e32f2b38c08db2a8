import { describe, expect, it } from 'vitest';
import { hasCustomDelimiter, parseDelimiters, splitOnDelimiters } from '../src/index.js';

describe('parseDelimiters (rag/nlp/delim.py grammar)', () => {
  it('makes each bare character its own delimiter, in order', () => {
    expect(parseDelimiters('\n!?。；！？')).toEqual(['\n', '!', '?', '。', '；', '！', '？']);
  });

  it('treats backtick-wrapped text as one delimiter and sorts longest first', () => {
    expect(parseDelimiters('\n`##`#`---`')).toEqual(['---', '##', '\n', '#']);
  });

  it('deduplicates', () => {
    expect(parseDelimiters('!!`ab`?`ab`!')).toEqual(['ab', '!', '?']);
  });

  it('normalises CRLF and CR to LF', () => {
    expect(parseDelimiters('\r\n')).toEqual(['\n']);
    expect(parseDelimiters('\r`a\r\nb`')).toEqual(['a\nb', '\n']);
  });

  it('keeps an unmatched backtick as a bare character', () => {
    expect(parseDelimiters('`')).toEqual(['`']);
  });

  it('returns nothing for an empty field', () => {
    expect(parseDelimiters('')).toEqual([]);
  });
});

describe('hasCustomDelimiter', () => {
  it('is true only with a backtick-wrapped token', () => {
    expect(hasCustomDelimiter('\n`##`')).toBe(true);
    expect(hasCustomDelimiter('\n!?')).toBe(false);
    expect(hasCustomDelimiter('`')).toBe(false);
    expect(hasCustomDelimiter('``')).toBe(false);
  });
});

describe('splitOnDelimiters', () => {
  it('drops the delimiter text and empty pieces, matches regex characters literally', () => {
    expect(splitOnDelimiters('a.b*c..d', parseDelimiters('.*'))).toEqual(['a', 'b', 'c', 'd']);
    expect(splitOnDelimiters('x##y#z', parseDelimiters('`##`#'))).toEqual(['x', 'y', 'z']);
  });
});
