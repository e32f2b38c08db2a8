import { inspectArchive, looksLikeOle2, looksLikeZip, oleInsteadOfZip } from '../archive.js';
import { ParseError } from '../errors.js';
import type { ParsedDocument } from '../types.js';
import type { FormatInput, FormatParser } from './format.js';
import { htmlSections } from './html.js';

/**
 * Mammoth maps Word's built-in "Heading 1".."Heading 6" to h1..h6 by default; the document title
 * style is a heading too, so that it starts a section.
 */
const STYLE_MAP = ["p[style-name='Title'] => h1:fresh", "p[style-name='Subtitle'] => h2:fresh"];


/**
 * DOCX as sections, in document order: Mammoth turns the document body into HTML (paragraphs,
 * headings, lists, tables) and `htmlSections` makes each heading start a section and each table
 * row a "cell | cell" line. Headers, footers and comments are not part of the body and are left
 * out; footnotes and endnotes come at the end. The zip is checked against the archive limits first.
 */
/**
 * A .docx file as Mammoth's HTML, after the checks every reader of Word files needs: a legacy .doc
 * or a non-zip is refused, the archive's expansion is bounded, and Mammoth's failure is `corrupt`.
 * Images are left out (never decompressed): only their alt text would be readable.
 */
export async function docxToHtml(input: FormatInput, opts: { styleMap: string[]; ignoreEmptyParagraphs: boolean }): Promise<string> {
  if (looksLikeOle2(input.data)) throw new ParseError('corrupt', oleInsteadOfZip(input.name));
  if (!looksLikeZip(input.data)) {
    throw new ParseError(
      'corrupt',
      `corrupt file: ${input.name} is not a Word document (a .docx file is a zip archive, and this one does not start like one). Legacy .doc files must be saved as .docx first.`,
    );
  }
  await inspectArchive(input.data, input.name, input.archiveLimits);
  const buffer = Buffer.from(input.data.buffer, input.data.byteOffset, input.data.byteLength);
  // loaded on first use: it takes a second to load on a busy machine
  const { default: mammoth } = await import('mammoth');
  const noImages = mammoth.images.imgElement(() => Promise.resolve({ src: '' }));
  try {
    const result = await mammoth.convertToHtml({ buffer }, { styleMap: opts.styleMap, convertImage: noImages, ignoreEmptyParagraphs: opts.ignoreEmptyParagraphs, externalFileAccess: false });
    return result.value;
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new ParseError('corrupt', `corrupt file: ${input.name} could not be read as a Word document (${reason})`, { cause });
  }
}

export const docxFormat: FormatParser = {
  id: 'docx',
  extensions: ['.docx'],
  paged: false,
  async parse(input: FormatInput): Promise<ParsedDocument> {
    const html = await docxToHtml(input, { styleMap: STYLE_MAP, ignoreEmptyParagraphs: true });
    return { sections: htmlSections(html), format: 'docx', notes: [] };
  },
};
