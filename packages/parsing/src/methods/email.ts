import { fineGrainedTokenize, tokenize } from '@ragline/rag-tokenizer';
import { mergeOptionsFromParserConfig, naiveMerge } from '../merge.js';
import type { MergedChunk, ParsedDocument } from '../types.js';
import type { ChunkMethodModule } from './method.js';

/**
 * RAGFlow's `email` method (rag/app/email.py) on an .eml file parsed by formats/eml.ts: the
 * sections of the headers and text bodies (TxtParser) and of the HTML bodies (HtmlParser) are
 * merged by naive_merge with parser_config's chunk_token_num and delimiter (no overlap: email.py
 * passes none); then come the chunks of every attachment, as naive chunked it, each carrying the
 * attachment's own docnm_kwd / title_tks / title_sm_tks and positions counted within the attachment.
 */
export const emailMethod: ChunkMethodModule = {
  id: 'email',
  readsFormat: (formatId) => formatId === 'eml',
  chunk(doc: ParsedDocument, parserConfig: Record<string, unknown>): MergedChunk[] {
    const { chunkTokenNum, delimiter } = mergeOptionsFromParserConfig(parserConfig);
    const main = naiveMerge(doc.sections, { chunkTokenNum, delimiter, overlappedPercent: 0 });
    const attached = (doc.attachments ?? []).flatMap(({ name, chunks }) => {
      const title_tks = tokenize(name.replace(/\.[a-zA-Z]+$/, ''));
      const fields = { docnm_kwd: name, title_tks, title_sm_tks: fineGrainedTokenize(title_tks) };
      return chunks.map((c, j) => ({
        ...c,
        // naive's tokenize_chunks: a non-PDF chunk's position is its index in the attachment's chunks
        positions: c.positions.length > 0 ? c.positions : [[j, j, j, j, j]],
        fields: { ...c.fields, ...fields },
      }));
    });
    return [...main, ...attached];
  },
};
