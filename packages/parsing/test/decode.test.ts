import iconv from 'iconv-lite';
import { describe, expect, it } from 'vitest';
import { decodeText, ParseError } from '../src/index.js';

const sample = 'Ragline 解析：中文、日本語とEnglish. ✓';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    if (e instanceof ParseError) return e.code;
    throw e;
  }
  return undefined;
}

describe('decodeText', () => {
  it('decodes UTF-8 without a BOM', () => {
    expect(decodeText(new TextEncoder().encode(sample))).toEqual({ text: sample, encoding: 'utf-8', replaced: 0 });
  });

  it('decodes UTF-8 with a BOM and strips it', () => {
    const bytes = new Uint8Array([0xef, 0xbb, 0xbf, ...new TextEncoder().encode(sample)]);
    expect(decodeText(bytes)).toMatchObject({ text: sample, encoding: 'utf-8' });
  });

  it('decodes UTF-16 LE and BE with a BOM', () => {
    const le = new Uint8Array([0xff, 0xfe, ...iconv.encode(sample, 'utf-16le')]);
    const be = new Uint8Array([0xfe, 0xff, ...iconv.encode(sample, 'utf-16be')]);
    expect(decodeText(le)).toMatchObject({ text: sample, encoding: 'utf-16le' });
    expect(decodeText(be)).toMatchObject({ text: sample, encoding: 'utf-16be' });
  });

  it('recognises UTF-16 LE without a BOM instead of calling it binary', () => {
    const text = 'Plain English text saved as UTF-16 by a Windows tool.';
    expect(decodeText(iconv.encode(text, 'utf-16le'))).toMatchObject({ text, encoding: 'utf-16le' });
  });

  it('detects GBK-encoded Chinese and decodes it as GB18030', () => {
    const text = '我们是中国人，我爱北京天安门。今天天气很好，我们去公园散步吧。';
    const decoded = decodeText(iconv.encode(text, 'gbk'));
    expect(decoded.text).toBe(text);
    expect(decoded.encoding).toBe('gb18030');
    expect(decoded.replaced).toBe(0);
  });

  it('decodes even two GBK characters', () => {
    expect(decodeText(iconv.encode('中文', 'gbk')).text).toBe('中文');
  });

  it('detects Shift_JIS Japanese', () => {
    const text = '日本語のテキストです。東京都に住んでいます。';
    expect(decodeText(iconv.encode(text, 'shift_jis')).text).toBe(text);
  });

  it('decodes Latin-1 French without mojibake', () => {
    const text = "Ceci est un café très agréable, où l'on mange des crêpes.";
    expect(decodeText(iconv.encode(text, 'latin1')).text).toBe(text);
  });

  it('rejects bytes with NUL as binary', () => {
    const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52]);
    expect(codeOf(() => decodeText(png))).toBe('binary');
    expect(() => decodeText(png, 'photo.txt')).toThrow(/photo\.txt: binary file/);
  });

  it('rejects bytes full of control characters as binary', () => {
    const bytes = new Uint8Array(Array.from({ length: 400 }, (_, i) => (i % 3 === 0 ? 0x01 + (i % 7) : 0x41 + (i % 26))));
    expect(codeOf(() => decodeText(bytes))).toBe('binary');
  });

  it('refuses to return mojibake when the declared encoding does not fit', () => {
    // A UTF-8 BOM in front of GBK bytes: decoding as UTF-8 is almost all U+FFFD.
    const bytes = new Uint8Array([0xef, 0xbb, 0xbf, ...iconv.encode('这是一个用GBK保存的文件', 'gbk')]);
    expect(codeOf(() => decodeText(bytes))).toBe('encoding');
    const err = (() => {
      try {
        decodeText(bytes, 'notes.txt');
      } catch (e) {
        return e as ParseError;
      }
      return undefined;
    })();
    expect(err?.message).toMatch(/notes\.txt: unreadable text encoding.*UTF-8/);
    expect(err?.retryable).toBe(false);
  });

  it('accepts a few damaged bytes in otherwise valid UTF-8 and counts them', () => {
    const good = new TextEncoder().encode('A long enough line of ordinary text. '.repeat(20));
    const bytes = new Uint8Array([...good, 0xe4, 0xb8]); // truncated multi-byte sequence at the end
    const decoded = decodeText(bytes);
    expect(decoded.text.startsWith('A long enough line')).toBe(true);
    expect(decoded.replaced).toBeGreaterThan(0);
    expect(decoded.replaced).toBeLessThan(3);
  });

  it('reads Chinese UTF-8 cut off mid-character as UTF-8, not as GB18030 mojibake', () => {
    const full = new TextEncoder().encode('这是一个很长的中文句子，用来测试截断的文件。'.repeat(5));
    const decoded = decodeText(full.subarray(0, full.length - 2));
    expect(decoded.encoding).toBe('utf-8');
    expect(decoded.text.startsWith('这是一个很长的中文句子')).toBe(true);
    expect(decoded.replaced).toBe(1);
  });

  it('still reads mostly-English GBK with a few Chinese words as GB18030', () => {
    const text = 'This report is mostly English. The product name is 天安门 and the city is 北京. '.repeat(3);
    const decoded = decodeText(iconv.encode(text, 'gbk'));
    expect(decoded).toMatchObject({ text, encoding: 'gb18030', replaced: 0 });
  });

  it('returns empty text for empty input', () => {
    expect(decodeText(new Uint8Array())).toEqual({ text: '', encoding: 'utf-8', replaced: 0 });
  });
});
