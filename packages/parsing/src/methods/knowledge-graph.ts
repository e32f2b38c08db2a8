import type { FormatInput, FormatParser } from '../formats/format.js';
import { mergeOptionsFromParserConfig, naiveMerge } from '../merge.js';
import type { MergedChunk, ParsedDocument } from '../types.js';
import type { ChunkMethodModule } from './method.js';

/** Shown on the task's progress: the chunks are there, the graph is not. */
export const KNOWLEDGE_GRAPH_NOTE =
  "parser 'knowledge_graph' chunks as 'naive' (as RAGFlow does); the knowledge graph itself (entities and relations extracted by the tenant's chat model, RAGFlow's graphrag task) is not built by Ragline";

/**
 * RAGFlow's `knowledge_graph` parser id chunks with naive.chunk (task_executor's FACTORY maps it to
 * naive); the graph is extracted from those chunks afterwards by an LLM task of its own (graphrag),
 * which Ragline does not run. So: every format naive reads, chunked as naive, with a note.
 */
export const knowledgeGraphMethod: ChunkMethodModule = {
  id: 'knowledge_graph',
  readsFormat: () => true,
  formatFor(named: FormatParser): FormatParser {
    return {
      ...named,
      async parse(input: FormatInput): Promise<ParsedDocument> {
        const doc = await named.parse(input);
        return { ...doc, notes: [...doc.notes, KNOWLEDGE_GRAPH_NOTE] };
      },
    };
  },
  chunk(doc: ParsedDocument, parserConfig: Record<string, unknown>): MergedChunk[] {
    return naiveMerge(doc.sections, mergeOptionsFromParserConfig(parserConfig));
  },
};
