import iconv from 'iconv-lite';
import { chardet } from 'jschardet';
import { ParseError } from './errors.js';

export interface DecodedText {
  text: string;
  /** lower-case encoding name, e.g. "utf-8", "utf-16le", "gb18030" */
  encoding: string;
  /** count of byte sequences that could not be decoded and became U+FFFD (small enough to accept) */
  replaced: number;
}

/** Bytes inspected to tell text from binary; enough to see a header and a stretch of content. */
const SNIFF_BYTES = 64 * 1024;
/** Share of C0 control bytes (other than tab, newlines, form feed, escape) above which bytes are binary. */
const MAX_CONTROL_RATIO = 0.1;
/** Share of replacement characters above which a decode is mojibake rather than a few damaged bytes. */
const MAX_REPLACEMENT_RATIO = 0.02;
/** Valid multi-byte UTF-8 characters needed per invalid sequence to read bytes as damaged UTF-8. */
const DAMAGED_UTF8_VALID_PER_INVALID = 10;
/** jschardet confidence at which its guess is tried before GB18030. */
const TRUSTED_CONFIDENCE = 0.5;

/**
 * Encoding families jschardet may answer with: modern web (UTF-*, GB18030, Big5, Shift_JIS,
 * EUC-*, windows-125x) and ISO-8859-*. Mac, DOS and EBCDIC code pages are left out: they are rare
 * in uploads and otherwise win on short Latin-1 text.
 */
const DETECTED_ERAS = chardet.EncodingEra.MODERN_WEB | chardet.EncodingEra.LEGACY_ISO;

const utf8Strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function label(name: string | undefined): string {
  return name ? `${name}: ` : '';
}

function startsWith(data: Uint8Array, prefix: readonly number[]): boolean {
  return prefix.every((b, i) => data[i] === b);
}

function isControlByte(b: number): boolean {
  // \t \n \v \f \r and ESC (ANSI colours in logs) are normal in text.
  return (b < 0x20 && !(b >= 0x09 && b <= 0x0d) && b !== 0x1b) || b === 0x7f;
}

/** UTF-16 without a BOM: ASCII-range text leaves a NUL in every other byte, on one side only. */
function sniffUtf16(data: Uint8Array): 'utf-16le' | 'utf-16be' | undefined {
  const n = Math.min(data.length, SNIFF_BYTES) & ~1;
  if (n < 4) return undefined;
  let evenNul = 0;
  let oddNul = 0;
  for (let i = 0; i < n; i += 2) {
    if (data[i] === 0) evenNul++;
    if (data[i + 1] === 0) oddNul++;
  }
  const pairs = n / 2;
  if (oddNul > pairs * 0.3 && evenNul < pairs * 0.01) return 'utf-16le';
  if (evenNul > pairs * 0.3 && oddNul < pairs * 0.01) return 'utf-16be';
  return undefined;
}

function assertNotBinary(data: Uint8Array, name: string | undefined): void {
  const n = Math.min(data.length, SNIFF_BYTES);
  let control = 0;
  for (let i = 0; i < n; i++) {
    const b = data[i]!;
    if (b === 0) {
      throw new ParseError(
        'binary',
        `${label(name)}binary file: it contains NUL bytes, so it is not plain text. Check that the file extension matches its content.`,
      );
    }
    if (isControlByte(b)) control++;
  }
  if (n > 0 && control / n > MAX_CONTROL_RATIO) {
    throw new ParseError(
      'binary',
      `${label(name)}binary file: ${Math.round((control / n) * 100)}% of its first bytes are control characters, so it is not plain text. Check that the file extension matches its content.`,
    );
  }
}

function countReplacements(text: string): number {
  let count = 0;
  for (let i = text.indexOf('\uFFFD'); i >= 0; i = text.indexOf('\uFFFD', i + 1)) count++;
  return count;
}

function decodeWith(data: Uint8Array, encoding: string): DecodedText {
  const text = iconv.decode(data, encoding, { stripBOM: true });
  return { text, encoding: encoding.toLowerCase(), replaced: countReplacements(text) };
}

function checkReplacements(decoded: DecodedText, name: string | undefined): DecodedText {
  const length = decoded.text.length;
  if (decoded.replaced > 0 && decoded.replaced / Math.max(length, 1) > MAX_REPLACEMENT_RATIO) {
    throw new ParseError(
      'encoding',
      `${label(name)}unreadable text encoding: decoding as ${decoded.encoding} left ${decoded.replaced} of ${length} characters undecodable. Save the file as UTF-8 and upload it again.`,
    );
  }
  return decoded;
}

/**
 * UTF-8 with a few bad bytes (a file cut mid-character, a stray byte) is still UTF-8: reading it
 * as GB18030 would turn every character into mojibake without a single U+FFFD. Legacy encodings
 * make almost every non-ASCII character an invalid UTF-8 sequence, so the valid multi-byte
 * characters must far outnumber the invalid ones.
 */
function damagedUtf8(data: Uint8Array): DecodedText | undefined {
  const text = new TextDecoder('utf-8', { ignoreBOM: true }).decode(data);
  const replaced = countReplacements(text);
  let multiByte = 0;
  for (const ch of text) if (ch.codePointAt(0)! > 0x7f && ch !== '\uFFFD') multiByte++;
  const truncatedTail = replaced === 1 && text.endsWith('\uFFFD') && data.length > 1;
  if (truncatedTail || multiByte >= DAMAGED_UTF8_VALID_PER_INVALID * replaced) {
    return { text, encoding: 'utf-8', replaced };
  }
  return undefined;
}

/**
 * Bytes to text. A BOM decides (UTF-8, UTF-16 LE/BE, UTF-32 LE/BE); otherwise bytes that are
 * valid UTF-8 are UTF-8; otherwise the encoding is detected (jschardet), trying GB18030 (which
 * covers GBK and GB2312) early since that is what most non-UTF-8 uploads are.
 * Throws ParseError `binary` for bytes that are not text and `encoding` when no candidate
 * decodes without a large share of U+FFFD.
 */
export function decodeText(data: Uint8Array, name?: string): DecodedText {
  if (startsWith(data, [0xef, 0xbb, 0xbf])) {
    return checkReplacements(decodeWith(data, 'utf-8'), name);
  }
  // UTF-32 LE's BOM starts like UTF-16 LE's, so it is checked first.
  if (startsWith(data, [0xff, 0xfe, 0x00, 0x00])) return checkReplacements(decodeWith(data, 'utf-32le'), name);
  if (startsWith(data, [0x00, 0x00, 0xfe, 0xff])) return checkReplacements(decodeWith(data, 'utf-32be'), name);
  const utf16 = startsWith(data, [0xff, 0xfe]) ? 'utf-16le' : startsWith(data, [0xfe, 0xff]) ? 'utf-16be' : sniffUtf16(data);
  if (utf16) {
    const decoded = checkReplacements(decodeWith(data, utf16), name);
    // Binary that happens to look like UTF-16 decodes to control characters: check the text.
    assertNotBinary(new TextEncoder().encode(decoded.text.slice(0, SNIFF_BYTES)), name);
    return decoded;
  }

  assertNotBinary(data, name);
  try {
    return { text: utf8Strict.decode(data), encoding: 'utf-8', replaced: 0 };
  } catch {
    // not clean UTF-8: damaged UTF-8, or another encoding
  }
  const damaged = damagedUtf8(data);
  if (damaged) return damaged;

  const guess = chardet.detect(data, { encodingEra: DETECTED_ERAS });
  const guessed = guess.encoding && iconv.encodingExists(guess.encoding) ? guess.encoding : undefined;
  const candidates: string[] = [];
  if (guessed && guess.confidence >= TRUSTED_CONFIDENCE) candidates.push(guessed);
  candidates.push('gb18030');
  if (guessed) candidates.push(guessed);
  candidates.push('utf-8');

  let best: DecodedText | undefined;
  for (const encoding of new Set(candidates.map((c) => c.toLowerCase()))) {
    const decoded = decodeWith(data, encoding);
    if (decoded.replaced === 0) return decoded;
    if (!best || decoded.replaced < best.replaced) best = decoded;
  }
  return checkReplacements(best!, name);
}
