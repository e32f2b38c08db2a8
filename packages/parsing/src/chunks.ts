import type { ChunkInput } from '@ragline/contracts';
import { chunkId } from './hash.js';
import { fineGrainedTokenize, tokenize } from '@ragline/rag-tokenizer';
import { countTokens } from '@ragline/tokenizer';
import { childDelimiterPattern, momId, momText, splitChildren } from './children.js';
import type { MergedChunk } from './types.js';

/** The task fields chunk documents are built from (a subset of TaskContext). */
export interface ChunkTask {
  doc_id: string;
  kb_id: string;
  doc_name: string;
  parser_config?: Record<string, unknown>;
  /** knowledge base pagerank; written as `pagerank_fea` when > 0, as RAGFlow does */
  pagerank?: number;
  /**
   * chunking method; only `naive` (and `knowledge_graph`, chunked as naive) makes child chunks from
   * `parser_config.children_delimiter`, as in RAGFlow (other methods ignore it)
   */
  parser_id?: string;
}

const TABLE_TAGS = /<\/?(table|td|caption|tr|th)( [^<>]{0,12})?>/g;

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}

/** RAGFlow's `str(datetime.now()).replace("T", " ")[:19]`: local time "YYYY-MM-DD HH:MM:SS". */
export function formatCreateTime(d: Date): string {
  return (
    `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ` +
    `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`
  );
}

/** RAGFlow's add_positions: page numbers become 1-based, coordinates are truncated to integers. */
function positionFields(poss: readonly (readonly number[])[]): Pick<ChunkInput, 'page_num_int' | 'position_int' | 'top_int'> {
  const page_num_int: number[] = [];
  const position_int: number[][] = [];
  const top_int: number[] = [];
  for (const [pn = 0, left = 0, right = 0, top = 0, bottom = 0] of poss) {
    page_num_int.push(Math.trunc(pn + 1));
    top_int.push(Math.trunc(top));
    position_int.push([Math.trunc(pn + 1), Math.trunc(left), Math.trunc(right), Math.trunc(top), Math.trunc(bottom)]);
  }
  return { page_num_int, position_int, top_int };
}

/** Title tokens from the file name without its extension (RAGFlow strips `\.[a-zA-Z]+$`). */
function titleOf(docName: string): string {
  return docName.replace(/\.[a-zA-Z]+$/, '');
}

/**
 * Chunk documents with RAGFlow's Elasticsearch field names, one per merged chunk in order.
 * Chunks with the same text get the same id (xxh64 of text + doc id); only the first is kept.
 * Requires `initHashing()` to have resolved.
 */
export function buildChunks(task: ChunkTask, merged: readonly MergedChunk[], now: Date = new Date()): ChunkInput[] {
  const title_tks = tokenize(titleOf(task.doc_name));
  const title_sm_tks = fineGrainedTokenize(title_tks);
  const create_time = formatCreateTime(now);
  const create_timestamp_flt = now.getTime() / 1000;
  const pagerank = task.pagerank && task.pagerank > 0 ? { pagerank_fea: Math.trunc(task.pagerank) } : {};

  // RAGFlow naive (and knowledge_graph, which is naive.chunk): children_delimiter cuts every text chunk (not tables or images) into children.
  const childPattern =
    task.parser_id === 'naive' || task.parser_id === 'knowledge_graph' ? childDelimiterPattern(task.parser_config?.['children_delimiter']) : '';

  const seen = new Set<string>();
  const out: ChunkInput[] = [];
  merged.forEach((chunk, ii) => {
    // Non-PDF chunks carry their index as page and coordinates (RAGFlow: add_positions(d, [[ii]*5])).
    const poss = chunk.positions.length > 0 ? chunk.positions : [[ii, ii, ii, ii, ii]];
    const docType = chunk.fields?.['doc_type_kwd'];
    const split = childPattern !== '' && docType !== 'table' && docType !== 'image';
    const mom = split ? momText(chunk.text) : '';
    const pieces = split ? splitChildren(chunk.text, childPattern) : [chunk.text];
    for (const text of pieces) {
      const id = chunkId(text, task.doc_id);
      if (seen.has(id)) continue;
      seen.add(id);
      const content_ltks = tokenize(text.replace(TABLE_TAGS, ' '));
      out.push({
        id,
        doc_id: task.doc_id,
        kb_id: task.kb_id,
        docnm_kwd: task.doc_name,
        title_tks,
        title_sm_tks,
        content_with_weight: text,
        content_ltks,
        content_sm_ltks: fineGrainedTokenize(content_ltks),
        ...positionFields(poss),
        important_kwd: [],
        create_time,
        create_timestamp_flt,
        img_id: '',
        token_count: split ? countTokens(text) : chunk.tokens,
        ...pagerank,
        ...chunk.fields,
        // a child: its parent's text and id (RAGFlow sets mom_id in insert_chunks: xxh64 of the text)
        ...(mom ? { mom_with_weight: mom, mom_id: momId(mom) } : {}),
      });
    }
  });
  return out;
}
