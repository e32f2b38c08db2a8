import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildChunks, chunkDocument, chunkId, fineGrainedTokenize, initHashing, parseDocument, planParser, tokenize } from '../src/index.js';
import { tagKeywords } from '../src/methods/tag.js';
import { makeXls, makeXlsx } from './office-fixtures.js';

const FIXTURES = new URL('./fixtures/tag/', import.meta.url);
const fixture = (name: string): Uint8Array => new Uint8Array(readFileSync(new URL(name, FIXTURES)));

/**
 * What RAGFlow's own rag/app/tag.py returns for a fixture: fixtures/tag/ragflow-tag-standin.py runs
 * tag.chunk() with stand-ins for its imports (tokenizer = identity, so "content" is the text
 * content_ltks is tokenized from).
 */
interface RagflowOut {
  chunks: { content_with_weight: string; content: string; tag_kwd: string[]; top_int: number[] }[];
}
const ragflow = (name: string): RagflowOut => JSON.parse(readFileSync(new URL(`${name}.ragflow.json`, FIXTURES), 'utf8')) as RagflowOut;

const TASK = { doc_id: 'doc1', kb_id: 'kb1', doc_name: 'tags' };

async function tagChunks(name: string, data: Uint8Array) {
  const doc = await parseDocument({ name, data, parserId: 'tag', parserConfig: { language: 'English' } });
  expect(doc.method).toBe('tag');
  const merged = chunkDocument(doc, { language: 'English' });
  return { doc, chunks: buildChunks({ ...TASK, doc_name: name }, merged) };
}

function expectTagFields(chunk: Record<string, unknown>, content: string, tags: string[], top: number): void {
  const ltks = tokenize(content);
  expect(chunk).toMatchObject({
    id: chunkId(content, TASK.doc_id),
    content_with_weight: content,
    content_ltks: ltks,
    content_sm_ltks: fineGrainedTokenize(ltks),
    tag_kwd: tags,
    top_int: [top],
  });
  expect(chunk).not.toHaveProperty('question_kwd');
}

beforeAll(async () => {
  await initHashing();
});

describe("parser 'tag'", () => {
  it('is planned for spreadsheets, CSV and text; other formats fall back to naive', () => {
    for (const f of ['table', 'text']) expect(planParser('tag', f)).toEqual({ method: 'tag' });
    expect(planParser('tag', 'pdf')).toEqual({ method: 'naive', note: "parser 'tag' does not read pdf files; chunked with 'naive'" });
  });

  it('tag_kwd: split on ",", stripped as Python strips, empty tags dropped, "." written "_"', () => {
    expect(tagKeywords(' a.b ,, c\u3000,\t')).toEqual(['a_b', 'c']);
    expect(tagKeywords('')).toEqual([]);
    // "，" is not a separator for RAGFlow; U+FEFF is not Python whitespace
    expect(tagKeywords('甲，乙,\uFEFF')).toEqual(['甲，乙', '\uFEFF']);
  });

  it.each(['tags.txt', 'comma.txt', 'tags.csv', 'tabbed.csv'])('chunks %s exactly as RAGFlow tag.py does', async (name) => {
    const { doc, chunks } = await tagChunks(name, fixture(name));
    const want = ragflow(name);
    expect(chunks).toHaveLength(want.chunks.length);
    want.chunks.forEach((w, i) => {
      expect(w.content).toBe(w.content_with_weight);
      expectTagFields(chunks[i]!, w.content_with_weight, w.tag_kwd, w.top_int[0]!);
    });
    // tag.py reports no failed lines for text or CSV
    expect(doc.notes).toEqual([]);
  });

  it("reads XLSX rows with qa's Excel rule: the first two non-empty cells are content and tags, over all sheets", async () => {
    const data = await makeXlsx({
      Tags: [['content', 'tags'], ['Refund policy\nsecond line', 'billing, refund.policy'], ['no tags'], [], ['', 'Gap first', 'g1,g2', 'ignored']],
      More: [['Q: kept as written', ' , ']],
    });
    const { doc, chunks } = await tagChunks('tags.xlsx', data);
    expect(chunks).toHaveLength(4);
    expectTagFields(chunks[0]!, 'content', ['tags'], 0);
    expectTagFields(chunks[1]!, 'Refund policy\nsecond line', ['billing', 'refund_policy'], 1);
    expectTagFields(chunks[2]!, 'Gap first', ['g1', 'g2'], 2);
    // no rmPrefix in tag; a tag cell of blanks gives no tags
    expectTagFields(chunks[3]!, 'Q: kept as written', [], 3);
    expect(doc.notes).toEqual(['Extract pairs: 4. 2 failure, line: 3,4...']);
  });

  it('reads legacy XLS the same way', async () => {
    const { doc, chunks } = await tagChunks('tags.xls', makeXls({ 标签: [['怎么上传？', '上传,文件'], ['为什么？', 'why']] }));
    expect(chunks).toHaveLength(2);
    expectTagFields(chunks[0]!, '怎么上传？', ['上传', '文件'], 0);
    expectTagFields(chunks[1]!, '为什么？', ['why'], 1);
    expect(doc.notes).toEqual([]);
  });
});
