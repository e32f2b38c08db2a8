import { countTokens } from '@ragline/tokenizer';
import type { MergedChunk, ParsedDocument } from '../types.js';
import type { ChunkMethodModule } from './method.js';

/**
 * RAGFlow's `presentation` method (rag/app/presentation.py) on a PPTX: every slide is one chunk,
 * empty slides included, its text as formats/pptx.ts reads it; page_num_int = [slide number]
 * (1-based), top_int = [0], position_int = [[slide number, 0, 0, 0, 0]] and doc_type_kwd =
 * "image", as RAGFlow sets them. RAGFlow's PPTX branch attaches no slide image (img_id stays "").
 * Its PDF branch needs layout analysis Ragline does not do, so a PDF falls back to `naive`.
 */
export const presentationMethod: ChunkMethodModule = {
  id: 'presentation',
  readsFormat: (formatId) => formatId === 'pptx',
  chunk(doc: ParsedDocument): MergedChunk[] {
    return doc.sections.map((s, i) => {
      const page = s.page ?? i;
      return {
        text: s.text,
        tokens: countTokens(s.text),
        pages: [page],
        positions: [[page, 0, 0, 0, 0]],
        fields: { doc_type_kwd: 'image' },
      };
    });
  },
};
