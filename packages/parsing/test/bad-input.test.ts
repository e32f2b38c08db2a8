// Every kind of bad input the parser stage sees, each with its ParseError code and message.
import { beforeAll, describe, expect, it } from 'vitest';
import { inspectArchive, parseDocument, tableRowCount, type ParseErrorCode, type ParseInput } from '../src/index.js';
import { addNoiseEntry, addZeroEntry, makeDocx, makeXlsx, makeZip } from './office-fixtures.js';
import { parseError } from './parse-error.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

async function expectRejected(input: ParseInput, code: ParseErrorCode, message: RegExp | string): Promise<void> {
  const err = await parseError(input);
  expect({ name: input.name, code: err.code }).toEqual({ name: input.name, code });
  expect(err.retryable).toBe(false);
  if (typeof message === 'string') expect(err.message).toBe(message);
  else expect(err.message).toMatch(message);
}

/** Bytes no text format accepts: a PNG header followed by NULs and control bytes. */
const BINARY = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, 0x49, 0x48, 0x44, 0x52, 1, 2, 3, 4, 5, 6]);

let docx: Uint8Array;
let xlsx: Uint8Array;

beforeAll(async () => {
  docx = await makeDocx([{ heading: 1, text: 'Title' }, { paragraph: 'Body text.' }]);
  xlsx = await makeXlsx({ S: [['h'], ['v']] });
});

describe('empty input', () => {
  it.each(['a.txt', 'a.md', 'a.html', 'a.json', 'a.jsonl', 'a.csv', 'a.tsv', 'a.xlsx', 'a.xls', 'a.docx', 'a.pdf'])(
    'rejects an empty %s',
    async (name) => {
      await expectRejected({ name, data: new Uint8Array(0) }, 'empty', `empty file: ${name} has no text`);
    },
  );

  it.each([
    ['blank.txt', ' \n\t\n'],
    ['blank.md', '\n\n'],
    ['blank.html', '<html><head><title></title><script>x()</script></head><body> </body></html>'],
    ['blank.json', '  \n'],
    ['blank.jsonl', '\n\n'],
  ])('rejects %s that holds no text', async (name, text) => {
    await expectRejected({ name, data: enc(text) }, 'empty', `empty file: ${name} has no text`);
  });

  it('rejects tables with a header row and no data rows', async () => {
    const msg = (name: string): string =>
      `empty table: ${name} has no data rows (the first non-empty row of each sheet is its header)`;
    await expectRejected({ name: 'header.csv', data: enc('a,b,c\n'), parserId: 'table' }, 'empty', msg('header.csv'));
    await expectRejected({ name: 'blank.csv', data: enc('\n\n'), parserId: 'table' }, 'empty', msg('blank.csv'));
    const sheetless = await makeXlsx({ Empty: [] });
    await expectRejected({ name: 'empty.xlsx', data: sheetless, parserId: 'table' }, 'empty', msg('empty.xlsx'));
  });

  it('rejects a DOCX without text and a JSON document without values', async () => {
    const blank = await makeDocx([{ paragraph: '' }]);
    await expectRejected({ name: 'blank.docx', data: blank }, 'empty', 'empty file: blank.docx has no text');
    await expectRejected({ name: 'list.json', data: enc('[]') }, 'empty', 'empty file: list.json has no text');
  });
});

describe('truncated and corrupt archives', () => {
  it.each(['docx', 'xlsx'] as const)('rejects a truncated %s as corrupt', async (ext) => {
    const whole = ext === 'docx' ? docx : xlsx;
    const name = `cut.${ext}`;
    await expectRejected(
      { name, data: whole.slice(0, Math.floor(whole.length / 2)) },
      'corrupt',
      new RegExp(`^corrupt file: cut\\.${ext} is not a readable zip archive \\(End of central directory record signature not found\\. Either not a zip file, or file is truncated\\.\\); the file is probably truncated or damaged\\. Save it again and upload it\\.$`),
    );
  });

  it('rejects an XLSX whose sheet data is damaged', async () => {
    const damaged = xlsx.slice();
    // overwrite the start of the compressed data of the first entries (the central directory stays intact)
    for (let i = 40; i < Math.min(damaged.length - 400, 1200); i++) damaged[i] = (i * 37) & 0xff;
    const err = await parseError({ name: 'damaged.xlsx', data: damaged, parserId: 'table' });
    expect(err.code).toBe('corrupt');
    expect(err.message).toMatch(/^corrupt file: damaged\.xlsx (could not be read as an Excel workbook|is not a readable zip archive)/);
  });

  it('rejects files that are not the archive their extension says', async () => {
    await expectRejected(
      { name: 'notes.docx', data: enc('just some text') },
      'corrupt',
      'corrupt file: notes.docx is not a Word document (a .docx file is a zip archive, and this one does not start like one). Legacy .doc files must be saved as .docx first.',
    );
    await expectRejected(
      { name: 'sheet.xlsx', data: enc('a,b\n1,2\n') },
      'corrupt',
      'corrupt file: sheet.xlsx is not an Excel workbook (an .xlsx file is a zip archive, and this one does not start like one)',
    );
    const zip = await makeZip({ 'readme.txt': 'hello' });
    await expectRejected({ name: 'other.docx', data: zip }, 'corrupt', /^corrupt file: other\.docx could not be read as a Word document \(.+\)$/);
    await expectRejected(
      { name: 'other.xlsx', data: zip, parserId: 'table' },
      'corrupt',
      'corrupt file: other.xlsx is a zip archive but not an Excel workbook (it has no xl/workbook.xml)',
    );
  });

  it('rejects password-protected (OLE2) Office files and damaged legacy XLS', async () => {
    const ole = new Uint8Array(1024);
    ole.set([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]);
    await expectRejected({ name: 'locked.docx', data: ole }, 'corrupt', /^corrupt file: locked\.docx is an OLE2 compound file, not a zip archive: it is either password-protected/);
    await expectRejected({ name: 'locked.xlsx', data: ole }, 'corrupt', /^corrupt file: locked\.xlsx is an OLE2 compound file/);
    await expectRejected({ name: 'old.xls', data: ole, parserId: 'table' }, 'corrupt', /^corrupt file: old\.xls could not be read as an Excel workbook \(.+\)$/);
  });

  it('rejects a CSV with an unterminated quote', async () => {
    await expectRejected(
      { name: 'quote.csv', data: enc('a,b\n"open,1\n2,3\n'), parserId: 'table' },
      'corrupt',
      /^corrupt file: quote\.csv is not a readable delimited table \(.*[Qq]uote.*\)$/,
    );
  });
});

describe('zip bombs', () => {
  it('refuses a DOCX with a highly compressible huge entry, with the numbers', async () => {
    const bomb = await addZeroEntry(docx, 'word/media/padding.bin', 64 * 1024 * 1024);
    expect(bomb.byteLength).toBeLessThan(1024 * 1024);
    await expectRejected(
      { name: 'bomb.docx', data: bomb },
      'too_large',
      /^zip bomb refused: word\/media\/padding\.bin in bomb\.docx expands from [\d,]+ bytes to 67,108,864 bytes \(\d+x\); the limit is 100x\.$/,
    );
  });

  it('refuses an XLSX bomb, also when only its rows are counted for task splitting', async () => {
    const bomb = await addZeroEntry(xlsx, 'xl/media/padding.bin', 16 * 1024 * 1024);
    await expectRejected({ name: 'bomb.xlsx', data: bomb, parserId: 'table' }, 'too_large', /^zip bomb refused: xl\/media\/padding\.bin in bomb\.xlsx/);
    await expect(tableRowCount('bomb.xlsx', bomb)).rejects.toMatchObject({ code: 'too_large' });
  });

  it('refuses an archive that expands past the configured total, whatever its ratio', async () => {
    const big = await addNoiseEntry(docx, 'word/media/noise.txt', 3 * 1024 * 1024);
    // a normal ratio passes the default limits
    const doc = await parseDocument({ name: 'big.docx', data: big });
    expect(doc.sections.map((s) => s.text)).toEqual(['Title\nBody text.']);

    await expectRejected(
      { name: 'big.docx', data: big, archiveLimits: { maxUnpackedBytes: 2 * 1024 * 1024 } },
      'too_large',
      /^archive too large: big\.docx expands to more than 2,097,152 bytes \([\d,]+ bytes in its first \d+ entries\), the limit is 2,097,152 bytes\./,
    );
  });

  it('lets the ratio limit and its floor be configured', async () => {
    const padded = await addZeroEntry(docx, 'word/media/small.bin', 256 * 1024);
    // 256 KiB of zeros compresses ~1000x but is under the 1 MiB floor: accepted by default
    expect((await parseDocument({ name: 'padded.docx', data: padded })).sections).toHaveLength(1);
    await expectRejected(
      { name: 'padded.docx', data: padded, archiveLimits: { ratioCheckMinBytes: 1024 } },
      'too_large',
      /^zip bomb refused: word\/media\/small\.bin in padded\.docx expands from [\d,]+ bytes to 262,144 bytes/,
    );
    const summary = await inspectArchive(padded, 'padded.docx', { ratioCheckMinBytes: 1024, maxCompressionRatio: 10_000 });
    expect(summary.entries.find((e) => e.name === 'word/media/small.bin')?.uncompressedSize).toBe(256 * 1024);
  });
});

describe('binary content under a text extension', () => {
  // the PNG signature beats the extension: read as the image the bytes say, which is broken
  it.each(['photo.txt', 'photo.csv', 'photo.tsv', 'photo.html', 'photo.json', 'photo.jsonl', 'photo.md'])('rejects %s', async (name) => {
    await expectRejected(
      { name, data: BINARY, parserId: name.endsWith('.csv') || name.endsWith('.tsv') ? 'table' : 'naive' },
      'corrupt',
      new RegExp(`^corrupt image: ${name.replace('.', '\\.')} could not be decoded \\(truncated, or not the image its signature says\\)$`),
    );
  });

  it('rejects NUL bytes without a known signature under a text extension', async () => {
    const name = 'photo.txt';
    await expectRejected(
      { name, data: BINARY.subarray(8) },
      'binary',
      `${name}: binary file: it contains NUL bytes, so it is not plain text. Check that the file extension matches its content.`,
    );
  });
});

describe('ranges past the end', () => {
  it('rejects a row range past the last row of a spreadsheet', async () => {
    await expectRejected(
      { name: 'one-row.xlsx', data: xlsx, parserId: 'table', fromPage: 3000, toPage: 6000 },
      'page_range',
      'row range past the end: the task asks for rows 3000 to 6000 of one-row.xlsx, but it has 1 data rows (0 to 0)',
    );
  });

  it('rejects a page range on an unpaged document', async () => {
    await expectRejected(
      { name: 'doc.docx', data: docx, fromPage: 12, toPage: 24 },
      'page_range',
      'invalid page range for doc.docx: a docx file has no pages, so a task must start at page 0 (got 12)',
    );
    await expectRejected(
      { name: 'page.html', data: enc('<p>x</p>'), fromPage: 1, toPage: 2 },
      'page_range',
      'invalid page range for page.html: a html file has no pages, so a task must start at page 0 (got 1)',
    );
  });
});

describe('unsupported and oversized files', () => {
  it.each([
    ['setup.exe', 'extension .exe'],
    ['old.doc', 'extension .doc'],
  ])('rejects %s', async (name, what) => {
    const err = await parseError({ name, data: enc('x') });
    expect(err.code).toBe('unsupported_format');
    expect(err.message).toMatch(new RegExp(`^unsupported file type: ${name.replace('.', '\\.')} has ${what}; supported: .*\\.docx.*\\.xlsx.*\\.csv.*\\.html.*\\.json`));
  });

  it('rejects a file over the size limit before reading it', async () => {
    await expectRejected(
      { name: 'huge.xlsx', data: xlsx, maxBytes: 1000 },
      'too_large',
      `file too large: huge.xlsx is ${xlsx.byteLength} bytes, the limit is 1000 bytes. Split the file and upload the parts.`,
    );
  });
});
