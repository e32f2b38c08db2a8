import { countTokens } from '@ragline/tokenizer';
import { imageFormat } from '../formats/image.js';
import type { FormatInput, FormatParser } from '../formats/format.js';
import type { MergedChunk, ParsedDocument } from '../types.js';
import { UNPLACED, type ChunkMethodModule } from './method.js';

/**
 * RAGFlow's picture.py asks a vision model to describe an image unless its OCR text is longer
 * than 32 characters (or, in English, 32 words, which is longer still).
 */
const SHORT_OCR_TEXT = 32;

function shortText(text: string): boolean {
  return text.length <= SHORT_OCR_TEXT;
}

/** The image format, plus the note that a vision model's description is not made. */
const pictureFormat: FormatParser = {
  ...imageFormat,
  async parse(input: FormatInput): Promise<ParsedDocument> {
    const doc = await imageFormat.parse(input);
    const text = doc.sections.map((s) => s.text).join('\n').trim();
    if (shortText(text)) {
      doc.notes.push(
        `the OCR text of ${input.name} is short (${text.length} characters): RAGFlow would add a vision model's description of the picture, which Ragline does not make; only the OCR text is indexed`,
      );
    }
    return doc;
  },
};

/**
 * RAGFlow's `picture` method (rag/app/picture.py) on an image: the image is OCR'd and becomes
 * one chunk of its text lines joined by "\n", doc_type_kwd "image", no positions. RAGFlow also asks the
 * tenant's vision model to describe a picture with little text (and reads videos with it only);
 * Ragline has no vision model, so it indexes the OCR text alone and says so in a note.
 */
export const pictureMethod: ChunkMethodModule = {
  id: 'picture',
  readsFormat: (formatId) => formatId === 'image',
  formatFor: (named) => (named.id === 'image' ? pictureFormat : named),
  chunk(doc: ParsedDocument): MergedChunk[] {
    const text = doc.sections
      .map((s) => s.text)
      .filter((t) => t.trim() !== '')
      .join('\n')
      .trim();
    if (!text) return [];
    // RAGFlow's picture chunk is made by tokenize() alone: no page, position or top fields
    return [{ text, tokens: countTokens(text), pages: [], positions: [], fields: { ...UNPLACED, top_int: [], doc_type_kwd: 'image' } }];
  },
};
