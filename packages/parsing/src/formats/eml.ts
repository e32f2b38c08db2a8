import PostalMime, { addressParser, decodeWords, type Address, type Attachment } from 'postal-mime';
import { decodeText } from '../decode.js';
import { normalizeNewlines, parseDelimiters, splitOnDelimiters } from '../delimiters.js';
import { ParseError } from '../errors.js';
import { countTokens } from '@ragline/tokenizer';
import type { EmailAttachment, ParsedDocument, Section } from '../types.js';
import type { FormatInput, FormatParser } from './format.js';
import { htmlSections } from './html.js';

// An RFC 822 / MIME message (.eml), read as RAGFlow's `email` method reads it (rag/app/email.py):
// the header fields, the text/plain and text/html bodies, and the attachments, each parsed by its
// own format and chunked with `naive`. The chunks are put together by methods/email.ts.

/** Attachments parsed per message; the rest are skipped with a note. */
export const MAX_EML_ATTACHMENTS = 64;
/** MIME parts per message (postal-mime's own limit is far higher); more is refused as malformed. */
export const MAX_EML_PARTS = 1000;
/** Multipart nesting depth; deeper is refused as malformed. */
export const MAX_EML_DEPTH = 32;

/** RAGFlow's TxtParser.parser_txt defaults, which email.py does not override. */
const TXT_CHUNK_TOKEN_NUM = 128;
const TXT_DELIMITER = '\n!?;。；！？';

const FIELD = /^[!-9;-~]+:/;
const MAIL_FIELDS = new Set(['from', 'to', 'cc', 'subject', 'date', 'message-id', 'mime-version', 'received', 'return-path', 'content-type', 'reply-to', 'sender', 'delivered-to']);

/**
 * Whether `text` starts like an e-mail message: a header block (field lines and their folded
 * continuations) with at least two fields of mail, or a MIME-Version field, ended by a blank line
 * (or by the end of what was read, when `complete` is false).
 */
export function looksLikeMessage(text: string, complete = true): boolean {
  const lines = normalizeNewlines(text.replace(/^\uFEFF/, '')).split('\n');
  if (!complete) lines.pop();
  let fields = 0;
  const known = new Set<string>();
  for (const [i, line] of lines.entries()) {
    if (line === '') return i > 0 && (known.size >= 2 || known.has('mime-version'));
    if (/^[ \t]/.test(line)) {
      if (i === 0) return false;
      continue;
    }
    if (!FIELD.test(line)) return false;
    fields++;
    const name = line.slice(0, line.indexOf(':')).toLowerCase();
    if (MAIL_FIELDS.has(name)) known.add(name);
  }
  return !complete && fields > 0 && (known.size >= 2 || known.has('mime-version'));
}

/**
 * RAGFlow's TxtParser.parser_txt with its defaults: the text is cut at every delimiter (the
 * delimiters dropped) and the pieces are grouped OVER_CAP into sections of ~128 tokens, joined by "\n".
 */
export function parserTxtSections(text: string, chunkTokenNum = TXT_CHUNK_TOKEN_NUM, delimiter = TXT_DELIMITER): Section[] {
  const paragraphs = splitOnDelimiters(normalizeNewlines(text), parseDelimiters(delimiter));
  const groups: string[][] = [];
  let cur: string[] = [];
  let curTokens = 0;
  for (const p of paragraphs) {
    const t = countTokens(p);
    if (t > chunkTokenNum) {
      if (cur.length > 0) groups.push(cur);
      groups.push([p]);
      cur = [];
      curTokens = 0;
    } else if (cur.length === 0) {
      cur = [p];
      curTokens = t;
    } else if (curTokens > chunkTokenNum) {
      groups.push(cur);
      cur = [p];
      curTokens = t;
    } else {
      cur.push(p);
      curTokens += t;
    }
  }
  if (cur.length > 0) groups.push(cur);
  return groups.map((g) => ({ text: g.join('\n') }));
}

const ADDRESS_FIELDS = new Set(['from', 'to', 'cc', 'bcc', 'reply-to', 'sender', 'resent-from', 'resent-to', 'resent-cc', 'resent-bcc', 'resent-sender']);
const SPECIALS = /[()<>@,:;."[\]]/;

/** Python's email.headerregistry display of a name: quoted when it holds a special character. */
function displayName(name: string): string {
  return SPECIALS.test(name) ? `"${name.replace(/[\\"]/g, '\\$&')}"` : name;
}

function formatAddress(a: Address): string {
  if (a.group) return `${displayName(a.name)}: ${a.group.map(formatAddress).join(', ')};`;
  return a.name ? `${displayName(a.name)} <${a.address}>` : a.address;
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const ZONES: Record<string, string> = { UT: '+0000', UTC: '+0000', GMT: '+0000', Z: '+0000', EST: '-0500', EDT: '-0400', CST: '-0600', CDT: '-0500', MST: '-0700', MDT: '-0600', PST: '-0800', PDT: '-0700' };
const DATE = /^\s*(?:[A-Za-z]+,?\s*)?(\d{1,2})[\s-]+([A-Za-z]{3})[A-Za-z]*[\s-]+(\d{2,4})\s+(\d{1,2}):(\d{2})(?::(\d{2}))?(?:\s+([+-]\d{4}|[A-Za-z]+))?/;

/** Python's DateHeader: the date re-written by email.utils.format_datetime; an unreadable one as it is. */
export function formatDateHeader(value: string): string {
  const m = DATE.exec(value);
  if (!m) return value;
  const month = MONTHS.indexOf(m[2]!.toLowerCase());
  if (month < 0) return value;
  let year = Number(m[3]);
  if (m[3]!.length <= 2) year += year > 68 ? 1900 : 2000;
  const day = Number(m[1]);
  const [hh, mm, ss] = [Number(m[4]), Number(m[5]), Number(m[6] ?? 0)];
  if (day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 61) return value;
  const zone = m[7] ? (/^[+-]\d{4}$/.test(m[7]) ? m[7] : (ZONES[m[7].toUpperCase()] ?? '-0000')) : '-0000';
  const weekday = DAYS[new Date(Date.UTC(year, month, day)).getUTCDay()]!;
  const p2 = (n: number): string => String(n).padStart(2, '0');
  const mon = m[2]![0]!.toUpperCase() + m[2]!.slice(1, 3).toLowerCase();
  return `${weekday}, ${p2(day)} ${mon} ${String(year).padStart(4, '0')} ${p2(hh)}:${p2(mm)}:${p2(ss)} ${zone}`;
}

/** A header field's value as Python's `policy.default` shows it: encoded words decoded, addresses and dates normalised. */
export function headerValue(key: string, raw: string): string {
  const value = raw.replace(/\r?\n/g, '').replace(/^[ \t]+/, '');
  const name = key.toLowerCase();
  if (name === 'date' || name === 'resent-date') return formatDateHeader(value);
  if (ADDRESS_FIELDS.has(name)) {
    const addresses = addressParser(value);
    if (addresses.length > 0) return addresses.map(formatAddress).join(', ');
  }
  return decodeWords(value);
}

function bytesOf(content: Attachment['content']): Uint8Array {
  if (typeof content === 'string') return new TextEncoder().encode(content);
  if (content instanceof Uint8Array) return content;
  return new Uint8Array(content);
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

async function parseMessage(input: FormatInput): Promise<ParsedDocument> {
  const { name, data } = input;
  const head = new TextDecoder('latin1').decode(data.subarray(0, 64 * 1024));
  const headerEnd = /\r?\n\r?\n/.exec(head);
  const headerBlock = headerEnd ? head.slice(0, headerEnd.index) : head;
  if (!FIELD.test(headerBlock.replace(/^\uFEFF|^\xEF\xBB\xBF/, ''))) {
    throw new ParseError(
      'corrupt',
      `not an e-mail message: ${name} does not start with header fields ("From: ...", "Subject: ...") followed by a blank line and the body`,
    );
  }
  let email;
  try {
    email = await PostalMime.parse(data, {
      // RAGFlow reads neither the text nor the attachments of an attached message (see below)
      forceRfc822Attachments: true,
      attachmentEncoding: 'arraybuffer',
      maxPartCount: MAX_EML_PARTS,
      maxNestingDepth: MAX_EML_DEPTH,
    });
  } catch (err) {
    throw new ParseError('corrupt', `malformed e-mail message ${name}: ${describe(err)}`, { cause: err });
  }
  const notes: string[] = [];

  // RAGFlow: "Header: value" for every field of the message, then its text/plain parts
  const textParts = email.headers.map((h) => `${h.originalKey}: ${headerValue(h.key, h.value)}`);
  if (email.text !== undefined) textParts.push(email.text);
  const htmlParts = email.html !== undefined ? [email.html] : [];

  const attachments = email.attachments.filter((a) => a.disposition === 'attachment');
  // RAGFlow's walk of the parts takes in text/plain and text/html parts whatever their disposition
  for (const a of attachments) {
    if (a.mimeType !== 'text/plain' && a.mimeType !== 'text/html') continue;
    const { text } = decodeText(bytesOf(a.content), a.filename ?? undefined);
    (a.mimeType === 'text/plain' ? textParts : htmlParts).push(text);
  }

  const sections = [
    ...parserTxtSections(textParts.join('\n')),
    ...(htmlParts.length > 0 ? htmlSections(htmlParts.join('\n')) : []).filter((s) => s.text.length > 0),
  ];

  const out: ParsedDocument = { sections, format: 'eml', notes };
  if (input.parserId.trim().toLowerCase() !== 'email') {
    if (attachments.length > 0) notes.push(`${attachments.length} attachment(s) of ${name} are chunked only under parser 'email'`);
    return out;
  }

  // Imported here: parse.ts reaches this module through the format table.
  const [{ parseDocument }, { chunkDocument }] = await Promise.all([import('../parse.js'), import('../parsers.js')]);
  const parsed: EmailAttachment[] = [];
  for (const a of attachments) {
    const label = a.filename ?? `(unnamed ${a.mimeType})`;
    if (!a.filename) {
      notes.push(`attachment ${label} skipped: it has no file name`);
      continue;
    }
    if (a.mimeType === 'message/rfc822') {
      notes.push(`attachment ${label} skipped: attached messages are not chunked (as in RAGFlow)`);
      continue;
    }
    if (parsed.length >= MAX_EML_ATTACHMENTS) {
      notes.push(`attachment ${label} skipped: only the first ${MAX_EML_ATTACHMENTS} attachments of a message are parsed`);
      continue;
    }
    try {
      const doc = await parseDocument({
        name: a.filename,
        data: bytesOf(a.content),
        parserId: 'naive',
        parserConfig: input.parserConfig,
        ...(input.archiveLimits ? { archiveLimits: input.archiveLimits } : {}),
      });
      parsed.push({ name: a.filename, chunks: chunkDocument(doc, input.parserConfig) });
      for (const note of doc.notes) notes.push(`attachment ${label}: ${note}`);
    } catch (err) {
      // RAGFlow drops an attachment naive cannot chunk; the note says why
      notes.push(`attachment ${label} skipped: ${describe(err)}`);
    }
  }
  out.attachments = parsed;
  return out;
}

export const emlFormat: FormatParser = {
  id: 'eml',
  extensions: ['.eml'],
  paged: false,
  parse: parseMessage,
};
