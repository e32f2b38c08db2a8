import type { Readable } from 'node:stream';
import yauzl from 'yauzl';
import { ParseError } from './errors.js';

/** Limits on what a zip-based document (DOCX, XLSX) may expand to before any library unpacks it. */
export interface ArchiveLimits {
  /** refuse when all entries together expand past this many bytes; default 200 MiB */
  maxUnpackedBytes?: number;
  /** refuse an entry that expands more than this many times its compressed size; default 100 */
  maxCompressionRatio?: number;
  /**
   * the ratio is only checked for entries expanding past this many bytes, since a small entry that
   * compresses extremely well (an empty style sheet) harms nobody; default 1 MiB
   */
  ratioCheckMinBytes?: number;
}

export const DEFAULT_MAX_UNPACKED_BYTES = 200 * 1024 * 1024;
export const DEFAULT_MAX_COMPRESSION_RATIO = 100;
export const DEFAULT_RATIO_CHECK_MIN_BYTES = 1024 * 1024;

export interface ArchiveEntry {
  name: string;
  compressedSize: number;
  uncompressedSize: number;
}

export interface ArchiveSummary {
  entries: ArchiveEntry[];
  totalUncompressed: number;
  totalCompressed: number;
}

const ZIP_MAGIC = [0x50, 0x4b];

/** True when the bytes start like a zip archive ("PK"). */
export function looksLikeZip(data: Uint8Array): boolean {
  return ZIP_MAGIC.every((b, i) => data[i] === b);
}

const CFB_MAGIC = [0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1];

/** True when the bytes are an OLE2 compound file (legacy .xls/.doc, or a password-protected Office file). */
export function looksLikeOle2(data: Uint8Array): boolean {
  return CFB_MAGIC.every((b, i) => data[i] === b);
}

/**
 * An OOXML name on an OLE2 file: Office stores password-protected .docx/.xlsx that way, and a
 * legacy .doc/.xls renamed looks the same.
 */
export function oleInsteadOfZip(name: string): string {
  return `corrupt file: ${name} is an OLE2 compound file, not a zip archive: it is either password-protected (remove the password in Office and save again) or a legacy .doc/.xls file renamed (save it in the modern format).`;
}

function bytes(n: number): string {
  return `${n.toLocaleString('en-US')} bytes`;
}

/**
 * Calls `check` with each entry of the central directory in turn; an exception from `check` stops
 * reading and rejects with it. Entries are read one at a time, so a directory of millions of
 * entries is refused as soon as the running totals pass a limit.
 */
function readCentralDirectory(data: Uint8Array, check: (entry: ArchiveEntry) => void): Promise<number> {
  const buffer = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return new Promise((resolve, reject) => {
    yauzl.fromBuffer(buffer, { lazyEntries: true, validateEntrySizes: true }, (err, zip) => {
      if (err) return reject(new ZipReadError(err));
      zip.on('entry', (entry: yauzl.Entry) => {
        try {
          check({ name: entry.fileName, compressedSize: entry.compressedSize, uncompressedSize: entry.uncompressedSize });
        } catch (refused) {
          zip.close();
          return reject(refused);
        }
        zip.readEntry();
      });
      zip.on('end', () => resolve(zip.entryCount));
      zip.on('error', (e: Error) => reject(new ZipReadError(e)));
      zip.readEntry();
    });
  });
}

/** yauzl could not read the archive structure. */
class ZipReadError extends Error {
  override readonly name = 'ZipReadError';
  readonly retryable = false;
  constructor(cause: Error) {
    super(cause.message, { cause });
  }
}

/**
 * Reads a zip's central directory (no entry is decompressed) and refuses archives that would
 * expand past the limits: ParseError `too_large` with the sizes in the message. A file that is
 * not a readable zip (truncated, damaged central directory) is ParseError `corrupt`.
 *
 * The sizes are the ones the archive declares. The libraries that later unpack DOCX/XLSX check
 * the inflated size against the declared one, so a lying header fails there (as `corrupt`).
 */
export async function inspectArchive(data: Uint8Array, name: string, limits: ArchiveLimits = {}): Promise<ArchiveSummary> {
  const maxUnpacked = limits.maxUnpackedBytes ?? DEFAULT_MAX_UNPACKED_BYTES;
  const maxRatio = limits.maxCompressionRatio ?? DEFAULT_MAX_COMPRESSION_RATIO;
  const ratioMin = limits.ratioCheckMinBytes ?? DEFAULT_RATIO_CHECK_MIN_BYTES;

  const entries: ArchiveEntry[] = [];
  let totalUncompressed = 0;
  let totalCompressed = 0;
  const check = (entry: ArchiveEntry): void => {
    entries.push(entry);
    totalUncompressed += entry.uncompressedSize;
    totalCompressed += entry.compressedSize;
    if (entry.uncompressedSize >= ratioMin) {
      // A stored (uncompressed) entry has ratio 1; max(1, ...) keeps a zero-byte compressed size finite.
      const ratio = entry.uncompressedSize / Math.max(1, entry.compressedSize);
      if (ratio > maxRatio) {
        throw new ParseError(
          'too_large',
          `zip bomb refused: ${entry.name} in ${name} expands from ${bytes(entry.compressedSize)} to ${bytes(entry.uncompressedSize)} (${Math.round(ratio)}x); the limit is ${maxRatio}x.`,
        );
      }
    }
    if (totalUncompressed > maxUnpacked) {
      throw new ParseError(
        'too_large',
        `archive too large: ${name} expands to more than ${bytes(maxUnpacked)} (${bytes(totalUncompressed)} in its first ${entries.length} entries), the limit is ${bytes(maxUnpacked)}. Split the document and upload the parts.`,
      );
    }
  };

  try {
    await readCentralDirectory(data, check);
  } catch (cause) {
    if (!(cause instanceof ZipReadError)) throw cause;
    throw new ParseError(
      'corrupt',
      `corrupt file: ${name} is not a readable zip archive (${cause.message}); the file is probably truncated or damaged. Save it again and upload it.`,
      { cause },
    );
  }
  return { entries, totalUncompressed, totalCompressed };
}

/** A zip read through its central directory: any entry, in any order, as a stream. */
export interface OpenArchive {
  names(): string[];
  has(name: string): boolean;
  /** the entry's inflated bytes; sizes are checked against the directory while they stream */
  open(name: string): Promise<Readable>;
  close(): void;
}

/**
 * Opens a zip held in memory through its central directory. Unlike a single forward pass over the
 * local headers, this reads each part when the caller needs it, whatever order the archive stores
 * them in. A damaged directory rejects with the reader's error.
 */
export function openArchive(data: Uint8Array): Promise<OpenArchive> {
  const buffer = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return new Promise((resolve, reject) => {
    yauzl.fromBuffer(buffer, { lazyEntries: true, validateEntrySizes: true }, (err, zip) => {
      if (err) return reject(new ZipReadError(err));
      const entries = new Map<string, yauzl.Entry>();
      zip.on('entry', (entry: yauzl.Entry) => {
        entries.set(entry.fileName, entry);
        zip.readEntry();
      });
      zip.on('error', (e: Error) => reject(new ZipReadError(e)));
      zip.on('end', () =>
        resolve({
          names: () => [...entries.keys()],
          has: (name) => entries.has(name),
          open: (name) =>
            new Promise<Readable>((res, rej) => {
              const entry = entries.get(name);
              if (!entry) return rej(new Error(`${name} is not in the archive`));
              zip.openReadStream(entry, (e, stream) => (e ? rej(new ZipReadError(e)) : res(stream)));
            }),
          close: () => zip.close(),
        }),
      );
      zip.readEntry();
    });
  });
}
