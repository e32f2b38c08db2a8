import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildChunks, chunkDocument, initHashing, parseDocument } from '../src/index.js';

// RAGFlow's qa and tag build their chunks with tokenize() and set no page_num_int / position_int,
// only top_int (golden/make_fields_golden.py runs qa.py / tag.py over the qa and tag fixtures).
// The chunk contract requires both fields, so Ragline's are empty rather than chunk numbers.

const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url));
interface FieldsCase {
  method: string;
  file: string;
  language: string;
  chunks: { page_num_int: number[] | null; position_int: number[][] | null; top_int: number[] | null }[];
}
const golden = JSON.parse(readFileSync(here('./fixtures/methods/qa-tag-fields.json'), 'utf8')) as { cases: FieldsCase[] };

beforeAll(async () => {
  await initHashing();
});

describe('position fields of qa and tag chunks against RAGFlow', () => {
  it.each(golden.cases.map((c) => [`${c.method} ${c.file}`, c] as const))('%s', async (_, c) => {
    const name = c.file.split('/')[1]!;
    const parserConfig = { language: c.language };
    const doc = await parseDocument({ name, data: new Uint8Array(readFileSync(here(`./fixtures/${c.file}`))), parserId: c.method, parserConfig });
    const chunks = buildChunks({ doc_id: 'd', kb_id: 'k', doc_name: name, parser_config: parserConfig, parser_id: c.method }, chunkDocument(doc, parserConfig));
    expect(chunks.map((ck) => [ck.page_num_int, ck.position_int, ck.top_int])).toEqual(
      c.chunks.map((g) => [g.page_num_int ?? [], g.position_int ?? [], g.top_int ?? []]),
    );
  });
});
