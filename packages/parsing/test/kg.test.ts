import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { buildChunks, chunkDocument, initHashing, parseDocument, planParser } from '../src/index.js';
import { KNOWLEDGE_GRAPH_NOTE } from '../src/methods/knowledge-graph.js';

const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url));

// RAGFlow's task_executor maps knowledge_graph to naive.chunk; the graph is a later LLM task.
describe('knowledge_graph', () => {
  it('reads every format and chunks it exactly as naive, with a note that the graph is not built', async () => {
    for (const f of ['text', 'pdf', 'docx', 'table', 'html']) expect(planParser('knowledge_graph', f)).toEqual({ method: 'knowledge_graph' });
    const cfg = { chunk_token_num: 64, delimiter: '\n!?。；！？' };
    const files: [string, Uint8Array][] = [
      ['Apache-2.0.txt', new Uint8Array(readFileSync('/usr/share/common-licenses/Apache-2.0'))],
      ['apache-2.0.pdf', new Uint8Array(readFileSync(here('./fixtures/methods/apache-2.0.pdf')))],
      ['manual.docx', new Uint8Array(readFileSync(here('./fixtures/methods/manual.docx')))],
    ];
    for (const [name, data] of files) {
      const kg = await parseDocument({ name, data, parserId: 'knowledge_graph', parserConfig: cfg });
      const naive = await parseDocument({ name, data, parserId: 'naive', parserConfig: cfg });
      expect(kg.method).toBe('knowledge_graph');
      expect(kg.notes).toContain(KNOWLEDGE_GRAPH_NOTE);
      expect(naive.notes).not.toContain(KNOWLEDGE_GRAPH_NOTE);
      const chunks = chunkDocument(kg, cfg);
      expect(chunks.length).toBeGreaterThan(1);
      expect(chunks).toEqual(chunkDocument(naive, cfg));
    }
  });

  it('cuts chunks into children_delimiter children as naive does (RAGFlow runs naive.chunk for it)', async () => {
    await initHashing();
    const parser_config = { chunk_token_num: 64, children_delimiter: '`.`' };
    const data = new Uint8Array(readFileSync('/usr/share/common-licenses/Apache-2.0'));
    const build = async (parser_id: string) => {
      const doc = await parseDocument({ name: 'Apache-2.0.txt', data, parserId: parser_id, parserConfig: parser_config });
      return buildChunks({ doc_id: 'd', kb_id: 'k', doc_name: 'Apache-2.0.txt', parser_config, parser_id }, chunkDocument(doc, parser_config), new Date(0));
    };
    const kg = await build('knowledge_graph');
    expect(kg.some((c) => typeof c['mom_id'] === 'string')).toBe(true);
    expect(kg).toEqual(await build('naive'));
  });
});
