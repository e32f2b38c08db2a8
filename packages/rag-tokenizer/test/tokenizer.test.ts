import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Dictionary, RagTokenizer, isChinese, lemmatize, strQ2B, tokenize, tradToSimp } from '../src/index.js';

describe('pieces', () => {
  it('normalises English as RAGFlow: lemma, then Snowball stem', () => {
    expect(lemmatize('copies')).toBe('copy');
    expect(lemmatize('geese')).toBe('goose');
    expect(tokenize('Copies of the Licenses')).toBe('copi of the licens');
  });

  it('full-width to half-width, traditional to simplified as HanziConv', () => {
    expect(strQ2B('ＡＢＣ　１２３')).toBe('ABC 123');
    expect(tradToSimp('繁簡轉換器')).toBe('繁简转换器');
    // HanziConv's own mapping, not OpenCC's
    expect(tradToSimp('呼')).toBe('唿');
    expect(isChinese('中')).toBe(true);
    expect(isChinese('ひ')).toBe(false);
  });
});

describe('Dictionary', () => {
  it('keeps the highest frequency of a word listed twice and stops at a malformed line', () => {
    const d = new Dictionary('词语 100 n\n词语 5000 v\n坏行\n之后 100 n\n');
    expect(d.tag('词语')).toBe('v');
    expect(d.freq('词语')).toBe(Math.trunc(Math.exp(Math.trunc(Math.log(5000 / 1e6) + 0.5)) * 1e6 + 0.5));
    expect(d.has('之后')).toBe(false);
    expect(d.hasPrefix('词')).toBe(true);
    expect(d.hasSuffix('语')).toBe(true);
    expect(d.hasPrefix('语')).toBe(false);
  });

  it('segments by the dictionary it is given (e.g. RAGFlow huqie.txt)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ragtk-'));
    const path = join(dir, 'dict.txt');
    writeFileSync(path, '消费者 5000 n\n组 3000 n\n消费者组 90000 n\n');
    const custom = new RagTokenizer(Dictionary.fromFile(path));
    expect(custom.tokenize('消费者组')).toBe('消费者组');
    expect(tokenize('消费者组')).not.toBe('');
  });
});
