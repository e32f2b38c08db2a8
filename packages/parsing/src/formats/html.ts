import { parseDocument } from 'htmlparser2';
import { isTag, isText, type AnyNode, type Element } from 'domhandler';
import { decodeText } from '../decode.js';
import type { ParsedDocument, Section } from '../types.js';
import type { FormatInput, FormatParser } from './format.js';

/** Elements whose content is never readable text: code, styling, navigation, widgets, embeds. */
const DROPPED = new Set([
  'script',
  'style',
  'noscript',
  'template',
  'nav',
  'svg',
  'math',
  'canvas',
  'iframe',
  'object',
  'embed',
  'video',
  'audio',
  'button',
  'select',
  'input',
  'textarea',
  'head',
  'title',
]);

/** Elements that end the current line (everything else is inline). */
const BLOCK = new Set([
  'address',
  'article',
  'aside',
  'blockquote',
  'body',
  'caption',
  'center',
  'dd',
  'details',
  'dialog',
  'dir',
  'div',
  'dl',
  'dt',
  'fieldset',
  'figcaption',
  'figure',
  'footer',
  'form',
  'header',
  'hgroup',
  'hr',
  'html',
  'legend',
  'li',
  'main',
  'menu',
  'ol',
  'p',
  'section',
  'summary',
  'ul',
]);

const HEADING = /^h[1-6]$/;

function isDropped(el: Element): boolean {
  if (DROPPED.has(el.name)) return true;
  const role = el.attribs['role'];
  return el.attribs['hidden'] !== undefined || el.attribs['aria-hidden'] === 'true' || role === 'navigation';
}

function collapse(s: string): string {
  return s.replace(/\s+/g, ' ');
}

/** Text of a subtree on one line (table cells, headings): dropped elements left out, breaks as spaces. */
function inlineText(nodes: readonly AnyNode[]): string {
  let out = '';
  for (const node of nodes) {
    if (isText(node)) out += node.data;
    else if (isTag(node) && !isDropped(node)) {
      if (node.name === 'br' || BLOCK.has(node.name) || node.name === 'td' || node.name === 'th') out += ' ';
      out += inlineText(node.children);
    }
  }
  return collapse(out).trim();
}

/** Rows of a table (own rows only: a nested table's rows belong to the cell that holds it). */
function tableRows(table: Element): Element[] {
  const rows: Element[] = [];
  const visit = (el: Element): void => {
    for (const child of el.children) {
      if (!isTag(child)) continue;
      if (child.name === 'tr') rows.push(child);
      else if (['thead', 'tbody', 'tfoot'].includes(child.name)) visit(child);
    }
  };
  visit(table);
  return rows;
}

/**
 * Sections of an HTML document: each heading (h1-h6) starts a section that begins with the
 * heading's text; block elements become lines; a table row becomes one "cell | cell" line; list
 * items start with "- " (or "N. " in an ordered list); <pre> keeps its line breaks. Scripts,
 * styles, navigation and form widgets are dropped. The <title>, when it differs from the first
 * heading, is a section of its own at the start.
 */
export function htmlSections(html: string): Section[] {
  const dom = parseDocument(html, { decodeEntities: true });
  const sections: Section[] = [];
  let lines: string[] = [];
  let line = '';

  /** `pre`: keep the line's indentation (preformatted text). */
  const endLine = (pre = false): void => {
    const text = pre ? line.trimEnd() : line.trim();
    if (text) lines.push(text);
    line = '';
  };
  const endSection = (): void => {
    endLine();
    if (lines.length > 0) sections.push({ text: lines.join('\n') });
    lines = [];
  };

  const walk = (nodes: readonly AnyNode[], pre: boolean): void => {
    for (const node of nodes) {
      if (isText(node)) {
        if (pre) {
          const parts = node.data.replace(/\r\n?/g, '\n').split('\n');
          parts.forEach((part, i) => {
            if (i > 0) endLine(true);
            line += part;
          });
        } else {
          line += collapse(node.data);
        }
        continue;
      }
      if (!isTag(node) || isDropped(node)) continue;
      const name = node.name;
      if (HEADING.test(name)) {
        endSection();
        line = inlineText(node.children);
        endLine();
      } else if (name === 'br') {
        endLine();
      } else if (name === 'table') {
        endLine();
        for (const row of tableRows(node)) {
          const cells = row.children.filter((c): c is Element => isTag(c) && (c.name === 'td' || c.name === 'th'));
          const texts = cells.map((c) => inlineText(c.children));
          if (texts.some((t) => t.length > 0)) lines.push(texts.join(' | '));
        }
      } else if (name === 'li') {
        endLine();
        const parent = node.parent;
        if (parent && isTag(parent) && parent.name === 'ol') {
          const index = parent.children.filter((c) => isTag(c) && c.name === 'li').indexOf(node);
          line = `${index + 1}. `;
        } else {
          line = '- ';
        }
        walk(node.children, pre);
        endLine();
      } else if (name === 'pre') {
        endLine();
        walk(node.children, true);
        endLine(true);
      } else if (BLOCK.has(name)) {
        endLine();
        walk(node.children, pre);
        endLine();
      } else {
        walk(node.children, pre);
      }
    }
  };

  walk(dom.children, false);
  endSection();

  const titleEl = findTitle(dom.children);
  const title = titleEl ? inlineText(titleEl.children) : '';
  const firstLine = sections[0]?.text.split('\n', 1)[0];
  if (title && title !== firstLine) sections.unshift({ text: title });
  return sections;
}

function findTitle(nodes: readonly AnyNode[]): Element | undefined {
  for (const node of nodes) {
    if (!isTag(node)) continue;
    if (node.name === 'title') return node;
    if (node.name === 'body') continue;
    const found = findTitle(node.children);
    if (found) return found;
  }
  return undefined;
}

export const htmlFormat: FormatParser = {
  id: 'html',
  extensions: ['.html', '.htm', '.xhtml'],
  paged: false,
  async parse(input: FormatInput): Promise<ParsedDocument> {
    const { text, encoding, replaced } = decodeText(input.data, input.name);
    const notes = replaced > 0 ? [`${replaced} undecodable byte sequence(s) replaced while decoding ${encoding}`] : [];
    return { sections: htmlSections(text), format: 'html', encoding, notes };
  },
};
