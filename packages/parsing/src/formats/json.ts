import { decodeText } from '../decode.js';
import { normalizeNewlines } from '../delimiters.js';
import { ParseError } from '../errors.js';
import type { ParsedDocument, Section } from '../types.js';
import type { FormatInput, FormatParser } from './format.js';

/** Bad JSONL lines reported one by one on the task; past this many, only their count. */
export const MAX_LINE_NOTES = 10;

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

function keyPath(parent: string, key: string): string {
  if (IDENTIFIER.test(key)) return parent ? `${parent}.${key}` : key;
  return `${parent}[${JSON.stringify(key)}]`;
}

function scalarText(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/**
 * "path: value" lines of a JSON value, leaves only: `a.b[2].c: text`. Keys that are not
 * identifiers are quoted (`a["two words"]`); empty objects and arrays appear as `{}` / `[]`.
 */
export function flattenJson(value: unknown, path = ''): string[] {
  const lines: string[] = [];
  const visit = (v: unknown, p: string): void => {
    if (Array.isArray(v)) {
      if (v.length === 0) lines.push(`${p}: []`);
      v.forEach((item, i) => visit(item, `${p}[${i}]`));
    } else if (v !== null && typeof v === 'object') {
      const entries = Object.entries(v);
      if (entries.length === 0) lines.push(`${p}: {}`);
      for (const [k, item] of entries) visit(item, keyPath(p, k));
    } else {
      lines.push(p ? `${p}: ${scalarText(v)}` : scalarText(v));
    }
  };
  visit(value, path);
  return lines;
}

/**
 * One section per top-level item: each element of a top-level array (paths relative to the
 * element), each key of a top-level object (paths starting with the key), or the value itself.
 */
export function jsonSections(value: unknown): Section[] {
  let items: string[][];
  if (Array.isArray(value)) items = value.map((item) => flattenJson(item));
  else if (value !== null && typeof value === 'object') items = Object.entries(value).map(([k, v]) => flattenJson(v, keyPath('', k)));
  else items = [flattenJson(value)];
  return items.map((lines) => ({ text: lines.join('\n') })).filter((s) => s.text.trim().length > 0);
}

function parseJson(text: string, name: string): unknown {
  try {
    return JSON.parse(text);
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new ParseError('corrupt', `invalid JSON: ${name} could not be parsed (${reason})`, { cause });
  }
}

export const jsonFormat: FormatParser = {
  id: 'json',
  extensions: ['.json'],
  paged: false,
  async parse(input: FormatInput): Promise<ParsedDocument> {
    const { text, encoding, replaced } = decodeText(input.data, input.name);
    const notes = replaced > 0 ? [`${replaced} undecodable byte sequence(s) replaced while decoding ${encoding}`] : [];
    if (text.trim() === '') return { sections: [], format: 'json', encoding, notes };
    return { sections: jsonSections(parseJson(text, input.name)), format: 'json', encoding, notes };
  },
};

/**
 * JSON Lines: one section per line (its value flattened like a top-level item). A line that is not
 * valid JSON is skipped with a note naming its line number; a file where no line is valid fails.
 */
export const jsonlFormat: FormatParser = {
  id: 'jsonl',
  extensions: ['.jsonl', '.ndjson'],
  paged: false,
  async parse(input: FormatInput): Promise<ParsedDocument> {
    const { text, encoding, replaced } = decodeText(input.data, input.name);
    const notes = replaced > 0 ? [`${replaced} undecodable byte sequence(s) replaced while decoding ${encoding}`] : [];
    const sections: Section[] = [];
    const bad: number[] = [];
    let nonBlank = 0;
    normalizeNewlines(text)
      .split('\n')
      .forEach((line, i) => {
        if (line.trim() === '') return;
        nonBlank++;
        let value: unknown;
        try {
          value = JSON.parse(line);
        } catch (cause) {
          bad.push(i + 1);
          if (bad.length <= MAX_LINE_NOTES) {
            const reason = cause instanceof Error ? cause.message : String(cause);
            notes.push(`line ${i + 1} of ${input.name} is not valid JSON and was skipped (${reason})`);
          }
          return;
        }
        const lines = flattenJson(value);
        if (lines.join('').trim()) sections.push({ text: lines.join('\n') });
      });
    if (bad.length > MAX_LINE_NOTES) {
      notes.push(`${bad.length - MAX_LINE_NOTES} more invalid line(s) in ${input.name} were skipped (lines ${bad.slice(MAX_LINE_NOTES, MAX_LINE_NOTES + 5).join(', ')}${bad.length > MAX_LINE_NOTES + 5 ? ', ...' : ''})`);
    }
    if (nonBlank > 0 && bad.length === nonBlank) {
      throw new ParseError('corrupt', `invalid JSON Lines: none of the ${nonBlank} lines of ${input.name} is valid JSON (first bad line: ${bad[0]})`);
    }
    return { sections, format: 'jsonl', encoding, notes };
  },
};
