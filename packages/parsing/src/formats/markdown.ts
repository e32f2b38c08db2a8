import { lexer } from 'marked';
import { decodeText } from '../decode.js';
import { normalizeNewlines } from '../delimiters.js';
import type { ParsedDocument, Section } from '../types.js';
import type { FormatInput, FormatParser } from './format.js';

const FRONT_MATTER = /^---\n[\s\S]*?\n---(?:\n|$)/;

/**
 * Markdown as sections: every heading (ATX or setext) starts a new section that keeps the heading
 * line; the blocks under it (paragraphs, lists, fenced code, tables, HTML) follow verbatim, so a
 * code block or table is never split across sections. YAML front matter is a section of its own.
 */
export function markdownSections(source: string): Section[] {
  let text = normalizeNewlines(source);
  const sections: Section[] = [];
  const push = (s: string): void => {
    const trimmed = s.replace(/^\n+|\s+$/g, '');
    if (trimmed.trim()) sections.push({ text: trimmed });
  };
  const front = FRONT_MATTER.exec(text);
  if (front) {
    push(front[0]);
    text = text.slice(front[0].length);
  }
  let current = '';
  for (const token of lexer(text)) {
    if (token.type === 'heading') {
      push(current);
      current = '';
    }
    current += token.raw;
  }
  push(current);
  return sections;
}

export const markdownFormat: FormatParser = {
  id: 'markdown',
  extensions: ['.md', '.markdown', '.mdx'],
  paged: false,
  async parse(input: FormatInput): Promise<ParsedDocument> {
    const { text, encoding, replaced } = decodeText(input.data, input.name);
    const notes = replaced > 0 ? [`${replaced} undecodable byte sequence(s) replaced while decoding ${encoding}`] : [];
    return { sections: markdownSections(text), format: 'markdown', encoding, notes };
  },
};
