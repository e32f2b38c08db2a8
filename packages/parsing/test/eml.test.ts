// E-mail messages (.eml) under RAGFlow's `email` method (rag/app/email.py): real MIME messages
// built here (multipart/alternative text + HTML, GB2312 quoted-printable and base64 encoded words,
// a DOCX and a CSV attachment, an attached message), followed through parseDocument ->
// chunkDocument -> buildChunks.
import iconv from 'iconv-lite';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  buildChunks,
  chunkDocument,
  countTokens,
  fineGrainedTokenize,
  guessTextFormat,
  initHashing,
  parseDocument,
  sniffFormat,
  tokenize,
  type ParsedDocument,
} from '../src/index.js';
import { formatDateHeader, headerValue, parserTxtSections } from '../src/formats/eml.js';
import { makeDocx } from './office-fixtures.js';
import { parseError } from './parse-error.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const CONFIG = { chunk_token_num: 128, delimiter: '\n!?。；！？' };
const TASK = { doc_id: 'doc1', kb_id: 'kb1', doc_name: 'report-mail.eml' };

/** Quoted-printable of bytes (no line is long enough here to need a soft break). */
const qp = (b: Uint8Array): string =>
  Array.from(b, (x) => (x >= 33 && x <= 126 && x !== 61 && x !== 63 && x !== 95 ? String.fromCharCode(x) : '=' + x.toString(16).toUpperCase().padStart(2, '0'))).join('');
const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64').replace(/.{76}/g, '$&\r\n');
const gb = (s: string): Uint8Array => iconv.encode(s, 'gb2312');

let docx: Uint8Array;
beforeAll(async () => {
  await initHashing();
  docx = await makeDocx([{ heading: 1, text: 'Quarterly report' }, { paragraph: 'Revenue grew by ten percent.' }]);
});

/** A Chinese mail as Foxmail/Outlook send it: GB2312 headers and text body, a UTF-8 HTML alternative, two attachments. */
function chineseMail(extraParts: string[] = []): string {
  return [
    `From: =?GB2312?B?${Buffer.from(gb('张三')).toString('base64')}?= <zhangsan@example.com>`,
    'To: "Li, Si" <lisi@example.com>, bob@example.com',
    `Subject: =?GB2312?Q?${qp(gb('季度报告'))}?=`,
    'Date: Fri, 4 Dec 2026 9:05:00 +0800',
    'MIME-Version: 1.0',
    'Content-Type: multipart/mixed; boundary="mix"',
    '',
    'This is a multi-part message in MIME format.',
    '--mix',
    'Content-Type: multipart/alternative; boundary="alt"',
    '',
    '--alt',
    'Content-Type: text/plain; charset=gb2312',
    'Content-Transfer-Encoding: quoted-printable',
    '',
    qp(gb('你好，这是正文。请查收附件！')),
    '--alt',
    'Content-Type: text/html; charset=utf-8',
    '',
    '<html><head><style>p{color:red}</style></head><body><p>Hello <b>world</b>!</p><p>Second para?</p></body></html>',
    '--alt--',
    '--mix',
    'Content-Type: application/vnd.openxmlformats-officedocument.wordprocessingml.document; name="report.docx"',
    'Content-Disposition: attachment; filename="report.docx"',
    'Content-Transfer-Encoding: base64',
    '',
    b64(docx),
    '--mix',
    `Content-Type: text/csv; name="=?GB2312?B?${Buffer.from(gb('数据')).toString('base64')}?=.csv"`,
    `Content-Disposition: attachment; filename="=?GB2312?B?${Buffer.from(gb('数据')).toString('base64')}?=.csv"`,
    '',
    'name,qty\r\napple,3\r\npear,5',
    ...extraParts,
    '--mix--',
    '',
  ].join('\r\n');
}

const HEADERS_AND_BODY =
  '\nFrom: 张三 <zhangsan@example.com>' +
  '\nTo: "Li, Si" <lisi@example.com>, bob@example.com' +
  '\nSubject: 季度报告' +
  '\nDate: Fri, 04 Dec 2026 09:05:00 +0800' +
  '\nMIME-Version: 1.0' +
  // TxtParser cuts at ";" as well (its default delimiter), so the parameter is a line of its own
  '\nContent-Type: multipart/mixed' +
  '\n boundary="mix"' +
  '\n你好，这是正文' +
  '\n请查收附件';

async function parse(data: Uint8Array, name = 'report-mail.eml', parserId = 'email'): Promise<ParsedDocument> {
  return parseDocument({ name, data, parserId, parserConfig: CONFIG });
}

describe('EML under the email method', () => {
  it('chunks headers and bodies, then each attachment as naive chunks it, every field checked', async () => {
    const now = new Date(2026, 11, 4, 21, 0, 0);
    const doc = await parse(enc(chineseMail()));
    expect(doc.format).toBe('eml');
    expect(doc.method).toBe('email');
    expect(doc.notes).toEqual([]);
    const merged = chunkDocument(doc, CONFIG);
    const chunks = buildChunks(TASK, merged, now);
    expect(chunks.map((c) => c.content_with_weight)).toEqual([
      // headers + text/plain (TxtParser) and the HTML body (HtmlParser), merged by naive_merge
      HEADERS_AND_BODY + '\nHello world\nSecond para',
      '\nQuarterly report\nRevenue grew by ten percent.',
      '\nname: apple; qty: 3\nname: pear; qty: 5',
    ]);
    const names = [TASK.doc_name, 'report.docx', '数据.csv'];
    const titles = ['report-mail', 'report', '数据'];
    chunks.forEach((c, i) => {
      expect(c.doc_id).toBe('doc1');
      expect(c.kb_id).toBe('kb1');
      expect(c.docnm_kwd).toBe(names[i]);
      expect(c.title_tks).toBe(tokenize(titles[i]!));
      expect(c.title_sm_tks).toBe(fineGrainedTokenize(tokenize(titles[i]!)));
      expect(c.content_ltks).toBe(tokenize(c.content_with_weight));
      expect(c.content_sm_ltks).toBe(fineGrainedTokenize(c.content_ltks));
      expect(c.token_count).toBe(countTokens(c.content_with_weight));
      expect(c.important_kwd).toEqual([]);
      expect(c.img_id).toBe('');
      expect(c.create_time).toBe('2026-12-04 21:00:00');
    });
    expect(chunks[1]!.title_tks).toBe('report');
    // positions: the message's chunks by their index, each attachment's counted from 0 within it
    expect(chunks[0]!.position_int).toEqual([[1, 0, 0, 0, 0]]);
    expect(chunks[1]!.position_int).toEqual([[1, 0, 0, 0, 0]]);
    expect(chunks[1]!.page_num_int).toEqual([1]);
    expect(chunks[1]!.top_int).toEqual([0]);
    // the CSV as the table format reads it under naive: its rows' positions
    expect(chunks[2]!.position_int).toEqual([
      [1, 0, 0, 0, 0],
      [2, 1, 1, 1, 1],
    ]);
    expect(new Set(chunks.map((c) => c.id)).size).toBe(3);
  });

  it('merges with chunk_token_num and delimiter only: a small budget splits the message, overlap is ignored', async () => {
    const cfg = { chunk_token_num: 16, delimiter: '\n', overlapped_percent: 50 };
    const doc = await parseDocument({ name: 'm.eml', data: enc(chineseMail()), parserId: 'email', parserConfig: cfg });
    const main = chunkDocument(doc, cfg).filter((c) => c.fields === undefined);
    expect(main.length).toBeGreaterThan(2);
    // no overlap prefix: the chunks are the message's lines, each once, in order
    expect(main.map((c) => c.text).join('')).toBe(HEADERS_AND_BODY + '\nHello world!\nSecond para?');
  });

  it('a text/plain attachment is read into the body as well (RAGFlow walks every text part) and chunked as an attachment', async () => {
    const note = ['--mix', 'Content-Type: text/plain; charset=utf-8', 'Content-Disposition: attachment; filename="notes.txt"', '', 'Remember the milk'];
    const doc = await parse(enc(chineseMail(note)));
    const chunks = buildChunks(TASK, chunkDocument(doc, CONFIG));
    expect(chunks[0]!.content_with_weight).toBe(HEADERS_AND_BODY + '\nRemember the milk\nHello world\nSecond para');
    expect(chunks.at(-1)).toMatchObject({ content_with_weight: '\nRemember the milk', docnm_kwd: 'notes.txt', title_tks: tokenize('notes') });
  });

  it('skips attached messages, nameless and inline parts, and attachments no format reads, with notes', async () => {
    const extra = [
      '--mix',
      'Content-Type: message/rfc822',
      'Content-Disposition: attachment; filename="fwd.eml"',
      '',
      'From: carol@example.com',
      'Subject: forwarded',
      '',
      'Forwarded body',
      '--mix',
      'Content-Type: application/octet-stream',
      'Content-Disposition: attachment',
      '',
      'no name',
      '--mix',
      'Content-Type: image/png; name="logo.png"',
      'Content-Disposition: inline; filename="logo.png"',
      'Content-Transfer-Encoding: base64',
      '',
      'iVBORw0KGgo=',
      '--mix',
      'Content-Type: application/octet-stream; name="tool.exe"',
      'Content-Disposition: attachment; filename="tool.exe"',
      'Content-Transfer-Encoding: base64',
      '',
      b64(new Uint8Array([0x4d, 0x5a, 0x90, 0, 3, 0, 0, 0, 4, 0, 0, 0, 0xff, 0xff, 0, 0])),
    ];
    const doc = await parse(enc(chineseMail(extra)));
    const chunks = buildChunks(TASK, chunkDocument(doc, CONFIG));
    expect(chunks.map((c) => c.docnm_kwd)).toEqual([TASK.doc_name, 'report.docx', '数据.csv']);
    expect(chunks.some((c) => c.content_with_weight.includes('Forwarded body'))).toBe(false);
    expect(doc.notes).toHaveLength(3);
    expect(doc.notes[0]).toBe('attachment fwd.eml skipped: attached messages are not chunked (as in RAGFlow)');
    expect(doc.notes[1]).toBe('attachment (unnamed application/octet-stream) skipped: it has no file name');
    expect(doc.notes[2]).toMatch(/^attachment tool\.exe skipped: unsupported file type: tool\.exe/);
  });

  it('reads a single-part HTML mail through the HTML format and a GBK body with no charset fallback issues', async () => {
    const html = [
      'From: a@example.com',
      'Subject: =?gbk?B?' + Buffer.from(iconv.encode('会议通知', 'gbk')).toString('base64') + '?=',
      'Content-Type: text/html; charset=gbk',
      'Content-Transfer-Encoding: base64',
      '',
      b64(iconv.encode('<p>明天上午十点开会。</p><table><tr><td>地点</td><td>三楼</td></tr></table>', 'gbk')),
      '',
    ].join('\r\n');
    const doc = await parse(enc(html), 'notice.eml');
    const chunks = buildChunks({ ...TASK, doc_name: 'notice.eml' }, chunkDocument(doc, CONFIG));
    expect(chunks.map((c) => c.content_with_weight)).toEqual([
      '\nFrom: a@example.com\nSubject: 会议通知\nContent-Type: text/html\n charset=gbk\nContent-Transfer-Encoding: base64\n明天上午十点开会\n地点 | 三楼',
    ]);
  });

  it('under another parser the message body is chunked and its attachments are left with a note', async () => {
    const doc = await parse(enc(chineseMail()), 'report-mail.eml', 'naive');
    expect(doc.method).toBeUndefined();
    expect(doc.attachments).toBeUndefined();
    expect(doc.notes).toEqual(["2 attachment(s) of report-mail.eml are chunked only under parser 'email'"]);
    expect(chunkDocument(doc, CONFIG)[0]!.text).toBe(HEADERS_AND_BODY + '\nHello world\nSecond para');
  });
});

describe('EML input checks', () => {
  it('refuses a .eml that is not a message with a clear ParseError', async () => {
    const err = await parseError({ name: 'broken.eml', data: enc('just some words\nwithout any header\n'), parserId: 'email' });
    expect(err.code).toBe('corrupt');
    expect(err.message).toBe(
      'not an e-mail message: broken.eml does not start with header fields ("From: ...", "Subject: ...") followed by a blank line and the body',
    );
  });

  it('refuses a message nested past the depth limit', async () => {
    const depth = 40;
    const lines: string[] = ['From: a@example.com', 'Subject: deep'];
    for (let i = 0; i < depth; i++) lines.push(`Content-Type: multipart/mixed; boundary="b${i}"`, '', `--b${i}`);
    lines.push('Content-Type: text/plain', '', 'bottom');
    for (let i = depth - 1; i >= 0; i--) lines.push(`--b${i}--`);
    const err = await parseError({ name: 'deep.eml', data: enc(lines.join('\r\n')), parserId: 'email' });
    expect(err.code).toBe('corrupt');
    expect(err.message).toMatch(/^malformed e-mail message deep\.eml: .*nesting depth/i);
  });

  it('is recognised without an extension, by its first bytes too, and a .eml keeps its format', async () => {
    const mail = enc(chineseMail());
    expect((await sniffFormat('message', mail)).format?.id).toBe('eml');
    expect((await sniffFormat('message', mail.subarray(0, 300), { size: mail.byteLength })).format?.id).toBe('eml');
    expect((await sniffFormat('x.eml', mail)).format?.id).toBe('eml');
    const doc = await parse(mail, 'message');
    expect(doc.format).toBe('eml');
    expect(doc.attachments?.map((a) => a.name)).toEqual(['report.docx', '数据.csv']);
    // prose with one "Date:" line, and YAML-ish notes, stay text
    expect(guessTextFormat('Date: tomorrow\nWe meet at ten.\n').id).toBe('text');
    expect(guessTextFormat('title: notes\nauthor: me\n\nbody\n').id).toBe('text');
  });

  it('formats header values as Python email policy.default shows them', () => {
    expect(formatDateHeader('Mon, 1 Jan 24 7:08 GMT')).toBe('Mon, 01 Jan 2024 07:08:00 +0000');
    expect(formatDateHeader('2 Feb 2025 10:00:00')).toBe('Sun, 02 Feb 2025 10:00:00 -0000');
    expect(formatDateHeader('not a date')).toBe('not a date');
    expect(headerValue('To', 'Bob <bob@example.com>,\r\n "x.y" <xy@example.com>')).toBe('Bob <bob@example.com>, "x.y" <xy@example.com>');
    expect(headerValue('Subject', '=?UTF-8?B?5L2g5aW9?= =?UTF-8?B?5LiW55WM?=')).toBe('你好世界');
    expect(parserTxtSections('a!b\n\nc')).toEqual([{ text: 'a\nb\nc' }]);
  });
});
