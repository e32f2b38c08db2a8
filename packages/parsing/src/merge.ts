import { hasCustomDelimiter, normalizeNewlines, parseDelimiters, splitOnDelimiters } from './delimiters.js';
import { countTokens } from '@ragline/tokenizer';
import type { MergedChunk, Section } from './types.js';

export const DEFAULT_CHUNK_TOKEN_NUM = 512;
export const DEFAULT_DELIMITER = '\n!?。；！？';

export interface MergeOptions {
  /** target chunk size in cl100k_base tokens; default 512 */
  chunkTokenNum?: number;
  /** RAGFlow delimiter field (see `parseDelimiters`); default "\n!?。；！？" */
  delimiter?: string;
  /** percent (0-100) of the previous chunk's tail prepended to each chunk; default 0 */
  overlappedPercent?: number;
}

/**
 * RAGFlow's `normalize_overlapped_percent`: a ratio in (0,1) means that many percent, the result
 * is an integer clamped to [0, 90]; anything non-numeric is 0.
 */
export function normalizeOverlappedPercent(value: unknown): number {
  const n = typeof value === 'string' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isFinite(n)) return 0;
  const percent = n > 0 && n < 1 ? n * 100 : n;
  return Math.max(0, Math.min(Math.trunc(percent), 90));
}

/** Merge options from a RAGFlow `parser_config`, with defaults for missing or unusable values. */
export function mergeOptionsFromParserConfig(parserConfig: Record<string, unknown> | undefined): Required<MergeOptions> {
  const cfg = parserConfig ?? {};
  const size = Number(cfg['chunk_token_num']);
  const delimiter = cfg['delimiter'];
  return {
    chunkTokenNum: Number.isFinite(size) && size >= 1 ? Math.floor(size) : DEFAULT_CHUNK_TOKEN_NUM,
    delimiter: typeof delimiter === 'string' && delimiter.length > 0 ? delimiter : DEFAULT_DELIMITER,
    overlappedPercent: normalizeOverlappedPercent(cfg['overlapped_percent'] ?? 0),
  };
}

interface Piece {
  text: string;
  tokens: number;
  section: Section;
}

function isBlank(s: string): boolean {
  return s.trim().length === 0;
}

function finish(pieces: readonly Piece[], prefix: string): MergedChunk {
  const text = prefix + pieces.map((p) => p.text).join('');
  const pages: number[] = [];
  const positions: number[][] = [];
  const seenPositions = new Set<string>();
  for (const { section } of pieces) {
    if (section.page !== undefined && !pages.includes(section.page)) pages.push(section.page);
    if (section.position) {
      const key = section.position.join(',');
      if (!seenPositions.has(key)) {
        seenPositions.add(key);
        positions.push([...section.position]);
      }
    }
  }
  return { text, tokens: countTokens(text), pages, positions };
}

/** The last `percent`% of `text`'s characters (code points, as Python's len). */
function tail(text: string, percent: number): string {
  const chars = Array.from(text);
  return chars.slice(Math.trunc((chars.length * (100 - percent)) / 100)).join('');
}

/**
 * RAGFlow's `naive_merge` (OVER_CAP strategy): every section is split on the delimiters (the
 * delimiter text is dropped) and each piece, prefixed with "\n", is appended to the current chunk
 * while that chunk's token sum is still <= chunkTokenNum*(100-overlap)/100; so a chunk overflows
 * the target by at most one piece. A piece bigger than chunkTokenNum is a chunk of its own. With
 * an overlap, each chunk after the first starts with the tail of the previous one. A backtick
 * delimiter ("custom") ignores the size and makes every segment its own chunk.
 * Chunks that are only whitespace are dropped.
 */
export function naiveMerge(sections: readonly Section[], opts: MergeOptions = {}): MergedChunk[] {
  const chunkTokenNum = opts.chunkTokenNum ?? DEFAULT_CHUNK_TOKEN_NUM;
  const delimiter = opts.delimiter ?? DEFAULT_DELIMITER;
  const overlappedPercent = opts.overlappedPercent ?? 0;
  if (!Number.isFinite(chunkTokenNum) || chunkTokenNum < 1) {
    throw new RangeError(`chunkTokenNum must be a positive number, got ${chunkTokenNum}`);
  }
  if (!Number.isFinite(overlappedPercent) || overlappedPercent < 0 || overlappedPercent >= 100) {
    throw new RangeError(`overlappedPercent must be in [0, 100), got ${overlappedPercent}`);
  }
  const delimiters = parseDelimiters(delimiter);

  if (hasCustomDelimiter(delimiter)) {
    const out: MergedChunk[] = [];
    for (const section of sections) {
      for (const segment of splitOnDelimiters(normalizeNewlines(section.text), delimiters)) {
        if (isBlank(segment)) continue;
        const text = '\n' + segment;
        out.push(finish([{ text, tokens: countTokens(text), section }], ''));
      }
    }
    return out;
  }

  const threshold = (chunkTokenNum * (100 - overlappedPercent)) / 100;
  const groups: { pieces: Piece[]; tokens: number }[] = [];
  for (const section of sections) {
    for (const raw of splitOnDelimiters(normalizeNewlines(section.text), delimiters)) {
      const text = '\n' + raw;
      const tokens = countTokens(text);
      const current = groups.at(-1);
      if (tokens <= chunkTokenNum && current && current.tokens <= threshold) {
        current.pieces.push({ text, tokens, section });
        current.tokens += tokens;
      } else {
        groups.push({ pieces: [{ text, tokens, section }], tokens });
      }
    }
  }

  const out: MergedChunk[] = [];
  let previous: string | undefined;
  for (const group of groups) {
    const own = group.pieces.map((p) => p.text).join('');
    if (isBlank(own)) continue;
    const prefix = overlappedPercent > 0 && previous !== undefined ? tail(previous, overlappedPercent) : '';
    out.push(finish(group.pieces, prefix));
    previous = own;
  }
  return out;
}
