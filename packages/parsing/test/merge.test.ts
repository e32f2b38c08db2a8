import { describe, expect, it } from 'vitest';
import { countTokens, mergeOptionsFromParserConfig, naiveMerge, normalizeOverlappedPercent } from '../src/index.js';

// Four pieces of equal token count, so thresholds can be stated in pieces.
const pieces = ['the cat', 'the dog', 'the sun', 'the sky'];
const t = countTokens('\n' + pieces[0]);

describe('naiveMerge', () => {
  it('uses pieces of equal size in these tests', () => {
    for (const p of pieces) expect(countTokens('\n' + p)).toBe(t);
  });

  it('appends while the running sum is <= threshold, overflowing by at most one piece', () => {
    const chunks = naiveMerge([{ text: pieces.join('\n') }], { chunkTokenNum: 2 * t });
    expect(chunks.map((c) => c.text)).toEqual(['\nthe cat\nthe dog\nthe sun', '\nthe sky']);
    expect(chunks[0]!.tokens).toBe(countTokens(chunks[0]!.text));
  });

  it('drops delimiter text and prefixes each piece with a newline', () => {
    const chunks = naiveMerge([{ text: '第一句。第二句！第三句？' }], { chunkTokenNum: 512 });
    expect(chunks.map((c) => c.text)).toEqual(['\n第一句\n第二句\n第三句']);
  });

  it('splits across sections and keeps one chunk when everything fits', () => {
    const chunks = naiveMerge([{ text: 'a b' }, { text: 'c d' }], {});
    expect(chunks.map((c) => c.text)).toEqual(['\na b\nc d']);
  });

  it('puts a piece larger than chunk_token_num in a chunk of its own', () => {
    const big = Array.from({ length: 40 }, (_, i) => `word${i}`).join(' ');
    const chunks = naiveMerge([{ text: `small\n${big}\ntail` }], { chunkTokenNum: 10 });
    expect(chunks.map((c) => c.text)).toEqual(['\nsmall', '\n' + big, '\ntail']);
    expect(chunks[1]!.tokens).toBeGreaterThan(10);
  });

  it('lowers the threshold with overlap and prefixes the tail of the previous chunk', () => {
    const chunks = naiveMerge([{ text: pieces.join('\n') }], { chunkTokenNum: 2 * t, overlappedPercent: 50 });
    // threshold = t: a chunk takes a second piece, then is full
    const first = '\nthe cat\nthe dog';
    const tail = first.slice(Math.trunc(first.length / 2));
    expect(chunks.map((c) => c.text)).toEqual([first, tail + '\nthe sun\nthe sky']);
    expect(chunks[1]!.tokens).toBe(countTokens(chunks[1]!.text));
  });

  it('makes every segment its own chunk with a custom (backtick) delimiter, ignoring the size', () => {
    const text = 'part one has several words##part two\n  ##  ##part three';
    const chunks = naiveMerge([{ text }], { delimiter: '`##`', chunkTokenNum: 1000 });
    expect(chunks.map((c) => c.text)).toEqual(['\npart one has several words', '\npart two\n  ', '\npart three']);
  });

  it('splits on bare characters too when a custom delimiter is present', () => {
    const chunks = naiveMerge([{ text: 'a##b\nc' }], { delimiter: '\n`##`' });
    expect(chunks.map((c) => c.text)).toEqual(['\na', '\nb', '\nc']);
  });

  it('drops whitespace-only chunks and returns nothing for empty input', () => {
    expect(naiveMerge([{ text: '\n\n   \n' }], {})).toEqual([]);
    expect(naiveMerge([], {})).toEqual([]);
  });

  it('normalises CRLF so "\\n" splits Windows text', () => {
    const chunks = naiveMerge([{ text: 'one\r\ntwo\rthree' }], { chunkTokenNum: 1 });
    expect(chunks.map((c) => c.text)).toEqual(['\none', '\ntwo', '\nthree']);
  });

  it('collects the pages and positions of the sections a chunk came from', () => {
    const chunks = naiveMerge(
      [
        { text: 'page one text', page: 0, position: [0, 10, 20, 30, 40] },
        { text: 'page two text', page: 1, position: [1, 11, 21, 31, 41] },
        { text: 'more on two', page: 1, position: [1, 11, 21, 31, 41] },
      ],
      {},
    );
    expect(chunks).toHaveLength(1);
    expect(chunks[0]!.pages).toEqual([0, 1]);
    expect(chunks[0]!.positions).toEqual([
      [0, 10, 20, 30, 40],
      [1, 11, 21, 31, 41],
    ]);
  });

  it('rejects a non-positive chunk size', () => {
    expect(() => naiveMerge([{ text: 'x' }], { chunkTokenNum: 0 })).toThrow(RangeError);
  });
});

describe('parser_config handling', () => {
  it('normalises overlapped_percent like RAGFlow', () => {
    expect(normalizeOverlappedPercent(0.2)).toBe(20);
    expect(normalizeOverlappedPercent(30)).toBe(30);
    expect(normalizeOverlappedPercent(95)).toBe(90);
    expect(normalizeOverlappedPercent(-5)).toBe(0);
    expect(normalizeOverlappedPercent('15')).toBe(15);
    expect(normalizeOverlappedPercent('x')).toBe(0);
  });

  it('fills defaults for missing or unusable keys', () => {
    expect(mergeOptionsFromParserConfig(undefined)).toEqual({ chunkTokenNum: 512, delimiter: '\n!?。；！？', overlappedPercent: 0 });
    expect(mergeOptionsFromParserConfig({ chunk_token_num: 128, delimiter: '\n', overlapped_percent: 0.1 })).toEqual({
      chunkTokenNum: 128,
      delimiter: '\n',
      overlappedPercent: 10,
    });
    expect(mergeOptionsFromParserConfig({ chunk_token_num: -3, delimiter: '' }).chunkTokenNum).toBe(512);
  });
});
