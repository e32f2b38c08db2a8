import { parseDocument } from 'htmlparser2';
import { isTag, isText, type AnyNode, type Element } from 'domhandler';
import { docxToHtml } from '../formats/docx.js';
import type { FormatInput } from '../formats/format.js';
import type { ParsedDocument, Section } from '../types.js';

/**
 * A DOCX file as RAGFlow's qa Docx reader sees it (python-docx): the body paragraphs in order,
 * each with its heading level (Word's "Heading N" styles; 0 for any other paragraph), and every
 * table as the HTML RAGFlow builds of it. Mammoth turns the document into HTML first, with empty
 * paragraphs kept (RAGFlow adds them to the answer as blank lines).
 */

/** The document title style is not a heading for RAGFlow (only "Heading..." styles are). */
const STYLE_MAP = ["p[style-name='Title'] => p:fresh", "p[style-name='Subtitle'] => p:fresh"];

/** Text of a node as python-docx's `paragraph.text` gives it: line breaks as "\n". */
function textOf(node: AnyNode, skipLists = false): string {
  if (isText(node)) return node.data;
  if (!isTag(node)) return '';
  if (node.name === 'br') return '\n';
  if (skipLists && (node.name === 'ul' || node.name === 'ol')) return '';
  return node.children.map((c) => textOf(c, skipLists)).join('');
}

/** python-docx `cell.text`: the cell's paragraphs joined by "\n". */
function cellText(td: Element): string {
  const paras = td.children.filter((c): c is Element => isTag(c) && c.name === 'p');
  return paras.length > 0 ? paras.map((p) => textOf(p)).join('\n') : textOf(td);
}

/**
 * RAGFlow's table HTML: python-docx repeats a merged cell in every grid position it covers (so
 * Mammoth's colspan / rowspan are expanded back), and RAGFlow merges runs of equal neighbouring
 * cell texts into one `<td colspan='n'>`.
 */
function tableHtml(table: Element): string {
  const rows: Element[] = [];
  const collect = (el: Element): void => {
    for (const c of el.children) {
      if (!isTag(c)) continue;
      if (c.name === 'tr') rows.push(c);
      else if (c.name === 'thead' || c.name === 'tbody' || c.name === 'tfoot') collect(c);
    }
  };
  collect(table);
  const pending: { text: string; left: number }[][] = []; // rowspan cells still covering later rows, by column
  let html = '<table>';
  rows.forEach((tr) => {
    const grid: string[] = [];
    let col = 0;
    const fillFromAbove = (): void => {
      while (pending[col]?.[0] && pending[col]![0]!.left > 0) {
        const p = pending[col]![0]!;
        grid[col] = p.text;
        p.left--;
        col++;
      }
    };
    for (const td of tr.children) {
      if (!isTag(td) || (td.name !== 'td' && td.name !== 'th')) continue;
      fillFromAbove();
      const text = cellText(td);
      const colspan = Math.max(1, Number(td.attribs['colspan']) || 1);
      const rowspan = Math.max(1, Number(td.attribs['rowspan']) || 1);
      for (let k = 0; k < colspan; k++) {
        grid[col] = text;
        pending[col] = rowspan > 1 ? [{ text, left: rowspan - 1 }] : [];
        col++;
      }
    }
    fillFromAbove();
    html += '<tr>';
    for (let i = 0; i < grid.length; i++) {
      const text = grid[i] ?? '';
      let span = 1;
      while (i + 1 < grid.length && (grid[i + 1] ?? '') === text) {
        span++;
        i++;
      }
      html += span === 1 ? `<td>${text}</td>` : `<td colspan='${span}'>${text}</td>`;
    }
    html += '</tr>';
  });
  return `${html}</table>`;
}

/** Body paragraphs (with heading levels) and tables, in document order. */
function blocks(html: string): { paragraphs: Section[]; tables: Section[] } {
  const paragraphs: Section[] = [];
  const tables: Section[] = [];
  const walk = (nodes: readonly AnyNode[]): void => {
    for (const node of nodes) {
      if (!isTag(node)) continue;
      const heading = /^h([1-6])$/.exec(node.name);
      if (heading) paragraphs.push({ text: textOf(node), heading: Number(heading[1]) });
      else if (node.name === 'p') paragraphs.push({ text: textOf(node) });
      else if (node.name === 'table') tables.push({ text: tableHtml(node), table: true });
      else if (node.name === 'li') {
        // footnotes and endnotes are not body paragraphs in python-docx
        if (/^(footnote|endnote)-/.test(node.attribs['id'] ?? '')) continue;
        paragraphs.push({ text: textOf(node, true) });
        walk(node.children.filter((c) => isTag(c) && (c.name === 'ul' || c.name === 'ol')));
      } else walk(node.children);
    }
  };
  walk(parseDocument(html).children);
  return { paragraphs, tables };
}

export async function parseQaDocx(input: FormatInput): Promise<ParsedDocument> {
  const html = await docxToHtml(input, { styleMap: STYLE_MAP, ignoreEmptyParagraphs: false });
  const { paragraphs, tables } = blocks(html);
  return { sections: [...tables, ...paragraphs], format: 'docx', notes: [] };
}

/**
 * RAGFlow's heading walk over DOCX paragraphs (qa.py's Docx reader, manual.py's docx branch): a
 * paragraph in a "Heading 1".."Heading 6" style is a question (the nested headings above it joined
 * by "\n"), the other paragraphs (blank ones as empty lines) its answer, closed by the next heading;
 * text before the first heading has no question and is left out. `strip` is the caller's notion of
 * Python's `str.strip()` (qa and manual each keep the one their golden outputs were checked with).
 */
export function headingPairs(paragraphs: readonly Section[], strip: (text: string) => string): { question: string; answer: string }[] {
  const pairs: { question: string; answer: string }[] = [];
  const questions: string[] = [];
  const levels: number[] = [];
  let answer = '';
  const push = (): void => {
    const question = questions.join('\n');
    if (question) pairs.push({ question, answer });
  };
  for (const p of paragraphs) {
    const text = strip(p.text) === '' ? '' : strip(p.text.replace(/\u3000/g, ' '));
    const level = text ? (p.heading ?? 0) : 0;
    if (level === 0 || level > 6) {
      answer = `${answer}\n${text}`;
      continue;
    }
    if (answer) {
      push();
      answer = '';
    }
    while (questions.length > 0 && level <= levels[levels.length - 1]!) {
      questions.pop();
      levels.pop();
    }
    questions.push(text);
    levels.push(level);
  }
  if (answer) push();
  return pairs;
}
