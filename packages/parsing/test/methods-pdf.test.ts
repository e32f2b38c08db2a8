import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildChunks, chunkDocument, initHashing, parseDocument, tokenize } from '../src/index.js';

// RAGFlow's manual / paper / laws / book on the PDF and DOCX files of fixtures/methods (made by
// golden/make_method_fixtures.mjs with LibreOffice), from golden/make_methods_golden.py. Its PDF
// stand-in gives RAGFlow's Pdf classes Ragline's blocks (fixtures/methods/pdf-blocks.json) in place
// of DeepDOC's boxes; the first test keeps that file equal to what Ragline reads
// (RAGLINE_UPDATE_GOLDEN=1 rewrites it, then rerun the generator).

const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url));

interface GoldenChunk {
  content_with_weight: string;
  page_num_int?: number[];
  position_int?: number[][];
  top_int?: number[];
  doc_type_kwd?: string;
  important_kwd?: string[];
  title_tks?: string;
  authors_tks?: string;
}
interface GoldenCase {
  method: string;
  file: string;
  language: string;
  parser_config: Record<string, unknown>;
  chunks: GoldenChunk[];
}

const golden = JSON.parse(readFileSync(here('./fixtures/methods/ragflow.json'), 'utf8')) as { cases: GoldenCase[] };
const BLOCKS_FILE = here('./fixtures/methods/pdf-blocks.json');

async function parsed(c: { method: string; file: string; language: string; parser_config?: Record<string, unknown> }) {
  const name = c.file.split('/').pop()!;
  const data = new Uint8Array(readFileSync(here(`./fixtures/${c.file}`)));
  const parserConfig = { ...c.parser_config, language: c.language };
  const doc = await parseDocument({ name, data, parserId: c.method, parserConfig });
  return { name, doc, parserConfig };
}

beforeAll(async () => {
  await initHashing();
});

describe('golden input: the PDF blocks the generator gives RAGFlow', () => {
  it('are the blocks (text, layout type, box) Ragline reads from each PDF for each method', async () => {
    const files: Record<string, { sections: { text: string; layout: string; position: number[] }[] }> = {};
    for (const c of golden.cases.filter((g) => g.file.endsWith('.pdf'))) {
      const { name, doc } = await parsed(c);
      files[`${c.method}/${name}`] = { sections: doc.sections.map((s) => ({ text: s.text, layout: s.layout ?? '', position: [...s.position!] })) };
    }
    if (process.env['RAGLINE_UPDATE_GOLDEN'] === '1') writeFileSync(BLOCKS_FILE, `${JSON.stringify({ files }, null, 1)}\n`);
    expect(files).toEqual((JSON.parse(readFileSync(BLOCKS_FILE, 'utf8')) as { files: unknown }).files);
  });
});

describe('manual, paper, laws and book on PDF and DOCX against RAGFlow (golden/make_methods_golden.py)', () => {
  it.each(golden.cases.map((c) => [`${c.method} ${c.file}`, c] as const))('%s', async (_, c) => {
    const { name, doc, parserConfig } = await parsed(c);
    expect(doc.method).toBe(c.method);
    // the document as it comes back from the parse sandbox (JSON over IPC): layout and outline included
    const chunks = buildChunks({ doc_id: 'doc1', kb_id: 'kb1', doc_name: name, parser_config: parserConfig, parser_id: c.method }, chunkDocument(JSON.parse(JSON.stringify(doc)) as typeof doc, parserConfig));
    expect(chunks.map((ck) => ck.content_with_weight)).toEqual(c.chunks.map((g) => g.content_with_weight));
    chunks.forEach((ck, i) => {
      const g = c.chunks[i]!;
      // where RAGFlow sets no positions (tokenize() without add_positions), Ragline's are empty
      expect([ck.page_num_int, ck.position_int, ck.top_int]).toEqual([g.page_num_int ?? [], g.position_int ?? [], g.top_int ?? []]);
      expect(ck['doc_type_kwd']).toBe(g.doc_type_kwd);
      expect(ck.important_kwd).toEqual(g.important_kwd ?? []);
      if (g.authors_tks !== undefined) expect(ck['authors_tks']).toBe(tokenize(g.authors_tks));
      // paper without a title: RAGFlow tokenizes the file name with its extension, Ragline without
      if (g.title_tks !== undefined && g.title_tks !== name) expect(ck.title_tks).toBe(tokenize(g.title_tks));
    });
  });
});
