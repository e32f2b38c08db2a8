import { decodeText } from '../decode.js';
import { normalizeNewlines } from '../delimiters.js';
import { DEFAULT_CHUNK_TOKEN_NUM } from '../merge.js';
import { countTokens } from '@ragline/tokenizer';
import type { ParsedDocument, Section } from '../types.js';
import type { FormatInput, FormatParser } from './format.js';

/** Lines of a paragraph are grouped into sections of at most this many chunks' worth of tokens. */
function sectionTokenLimit(parserConfig: Record<string, unknown>): number {
  const n = Number(parserConfig['chunk_token_num']);
  return Number.isFinite(n) && n >= 1 ? n : DEFAULT_CHUNK_TOKEN_NUM;
}

/**
 * Plain text as sections: paragraphs (runs of non-blank lines), with a long paragraph cut at line
 * boundaries into groups of about chunk_token_num tokens, so a file whose delimiter setting has no
 * newline still reaches the merger in reasonably sized, line-aligned pieces.
 */
export function textSections(text: string, maxTokens: number): Section[] {
  const sections: Section[] = [];
  let lines: string[] = [];
  let tokens = 0;
  const flush = (): void => {
    if (lines.length > 0) sections.push({ text: lines.join('\n') });
    lines = [];
    tokens = 0;
  };
  for (const line of normalizeNewlines(text).split('\n')) {
    if (line.trim() === '') {
      flush();
      continue;
    }
    const lineTokens = countTokens(line);
    if (lines.length > 0 && tokens + lineTokens > maxTokens) flush();
    lines.push(line);
    tokens += lineTokens;
  }
  flush();
  return sections;
}

export const textFormat: FormatParser = {
  id: 'text',
  extensions: ['.txt', '.text', '.log'],
  paged: false,
  async parse(input: FormatInput): Promise<ParsedDocument> {
    const { text, encoding, replaced } = decodeText(input.data, input.name);
    const notes = replaced > 0 ? [`${replaced} undecodable byte sequence(s) replaced while decoding ${encoding}`] : [];
    return {
      sections: textSections(text, sectionTokenLimit(input.parserConfig)),
      format: 'text',
      encoding,
      notes,
    };
  },
};
