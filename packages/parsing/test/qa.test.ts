import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildChunks, chunkDocument, chunkId, fineGrainedTokenize, initHashing, parseDocument, planParser, tokenize } from '../src/index.js';
import { rmPrefix } from '../src/methods/qa.js';
import { makeDocx, makeXls, makeXlsx } from './office-fixtures.js';

const FIXTURES = new URL('./fixtures/qa/', import.meta.url);
const fixture = (name: string): Uint8Array => new Uint8Array(readFileSync(new URL(name, FIXTURES)));

/**
 * What RAGFlow's own rag/app/qa.py returns for a fixture: fixtures/qa/ragflow-qa-standin.py runs
 * qa.chunk() with stand-ins for its imports (tokenizer = identity, so "question" is the text
 * content_ltks is tokenized from; markdown() = "<md>" + text + "</md>").
 */
interface RagflowOut {
  chunks: { content_with_weight: string; question: string; top_int: number[] }[];
  last_message: string;
}
const ragflow = (name: string): RagflowOut => JSON.parse(readFileSync(new URL(`${name}.ragflow.json`, FIXTURES), 'utf8')) as RagflowOut;

const TASK = { doc_id: 'doc1', kb_id: 'kb1', doc_name: 'faq' };

async function qaChunks(name: string, data: Uint8Array, language = 'English') {
  const doc = await parseDocument({ name, data, parserId: 'qa', parserConfig: { language } });
  expect(doc.method).toBe('qa');
  const merged = chunkDocument(doc, { language });
  return { doc, chunks: buildChunks({ ...TASK, doc_name: name }, merged) };
}

function expectQaFields(chunk: Record<string, unknown>, content: string, question: string, top: number): void {
  const ltks = tokenize(question);
  expect(chunk).toMatchObject({
    id: chunkId(content, TASK.doc_id),
    content_with_weight: content,
    content_ltks: ltks,
    content_sm_ltks: fineGrainedTokenize(ltks),
    top_int: [top],
  });
  // RAGFlow's qa sets no question_kwd / question_tks
  expect(chunk).not.toHaveProperty('question_kwd');
  expect(chunk).not.toHaveProperty('question_tks');
}

beforeAll(async () => {
  await initHashing();
});

describe("parser 'qa'", () => {
  it('is planned for spreadsheets, CSV, text, Markdown and DOCX; other formats fall back to naive', () => {
    for (const f of ['table', 'text', 'markdown', 'docx']) expect(planParser('qa', f)).toEqual({ method: 'qa' });
    expect(planParser('qa', 'pdf')).toEqual({ method: 'naive', note: "parser 'qa' does not read pdf files; chunked with 'naive'" });
  });

  it('rmPrefix drops a leading Q/A label as RAGFlow does', () => {
    expect(rmPrefix('  Q: What?')).toBe('What?');
    expect(rmPrefix('answer\tyes')).toBe('yes');
    expect(rmPrefix('问题：什么？')).toBe('什么？');
    expect(rmPrefix('Queue: no')).toBe('Queue: no');
  });

  it.each(['faq.txt', 'faq.csv'])('chunks %s exactly as RAGFlow qa.py does, with its failure message', async (name) => {
    const { doc, chunks } = await qaChunks(name, fixture(name));
    const want = ragflow(name);
    expect(chunks).toHaveLength(want.chunks.length);
    want.chunks.forEach((w, i) => expectQaFields(chunks[i]!, w.content_with_weight, w.question, w.top_int[0]!));
    expect(doc.notes).toEqual([want.last_message]);
  });

  it('uses the Chinese prefixes unless the language is English (zh.txt, as RAGFlow)', async () => {
    const { doc, chunks } = await qaChunks('zh.txt', fixture('zh.txt'), 'Chinese');
    const want = ragflow('zh.txt');
    want.chunks.forEach((w, i) => expectQaFields(chunks[i]!, w.content_with_weight, w.question, w.top_int[0]!));
    expect(chunks).toHaveLength(2);
    // no failed lines, no note
    expect(doc.notes).toEqual([]);
  });

  it('chunks Markdown headings as questions like RAGFlow, answers rendered as HTML', async () => {
    const { chunks } = await qaChunks('faq.md', fixture('faq.md'));
    const want = ragflow('faq.md');
    const html = [
      '<p>Run <code>npm i</code>.</p>\n<ul>\n<li>one</li>\n<li>two</li>\n</ul>',
      '<pre><code># not a heading\n</code></pre>',
      '<p>Just <em>run</em> it.\n####### seven is body</p>',
    ];
    expect(chunks).toHaveLength(want.chunks.length);
    want.chunks.forEach((w, i) => {
      // RAGFlow's question and row; the answer is python-markdown's HTML there, marked's here
      expect(w.content_with_weight.startsWith(`Question: ${w.question}\tAnswer: <md>`)).toBe(true);
      expectQaFields(chunks[i]!, `Question: ${w.question}\tAnswer: ${html[i]}`, w.question, w.top_int[0]!);
    });
  });

  it('reads the first two non-empty cells of every XLSX row, over all sheets, with no header row', async () => {
    const data = await makeXlsx({
      FAQ: [['question', 'answer'], ['How?', 'Like this.\nTwo lines'], ['only one'], [], ['', 'Skip-empty Q', 'A after gap', 'third ignored']],
      More: [['Why?', 'Because.']],
    });
    const { doc, chunks } = await qaChunks('faq.xlsx', data);
    // rows keep their line breaks; "A after gap" loses its "A " label to rmPrefix, as in RAGFlow
    const pairs = [
      ['question', 'answer'],
      ['How?', 'Like this.\nTwo lines'],
      ['Skip-empty Q', 'after gap'],
      ['Why?', 'Because.'],
    ] as const;
    expect(chunks).toHaveLength(4);
    pairs.forEach(([q, a], i) => expectQaFields(chunks[i]!, `Question: ${q}\tAnswer: ${a}`, q, i));
    expect(doc.notes).toEqual(['Extract pairs: 4. 2 failure, line: 3,4...']);
  });

  it('reads legacy XLS the same way, Chinese prefixes for a Chinese knowledge base', async () => {
    const data = makeXls({ 问答: [['问：怎么上传？', '答：拖进来。'], ['为什么？', '因为。']] });
    const { doc, chunks } = await qaChunks('faq.xls', data, 'Chinese');
    expect(chunks).toHaveLength(2);
    expectQaFields(chunks[0]!, '问题：怎么上传？\t回答：拖进来。', '问：怎么上传？', 0);
    expectQaFields(chunks[1]!, '问题：为什么？\t回答：因为。', '为什么？', 1);
    expect(doc.notes).toEqual([]);
  });

  it('reads DOCX Heading paragraphs as questions (nested ones joined) and tables as chunks of their own, as RAGFlow', async () => {
    const data = await makeDocx([
      { heading: 1, text: 'Product' },
      { heading: 2, text: 'How do I start?' },
      { paragraph: 'Press start.' },
      { bullet: 'then wait' },
      { heading: 2, text: 'What does it cost?' },
      { table: [['Plan', 'Price'], ['Free', '0'], ['Same', 'Same']] },
      { paragraph: 'See the table.' },
      { heading: 1, text: 'Blank' },
      { paragraph: '' },
      { heading: 1, text: 'Last' },
      { paragraph: 'A: Bye.' },
    ]);
    const { doc, chunks } = await qaChunks('faq.docx', data);
    expect(doc.notes).toEqual([]);
    expect(chunks).toHaveLength(5);
    const table = "<table><tr><td>Plan</td><td>Price</td></tr><tr><td>Free</td><td>0</td></tr><tr><td colspan='2'>Same</td></tr></table>";
    const ltks = tokenize(table.replace(/<\/?(table|td|caption|tr|th)( [^<>]{0,12})?>/g, ' '));
    expect(chunks[0]).toMatchObject({ content_with_weight: table, content_ltks: ltks, doc_type_kwd: 'table' });
    expectQaFields(chunks[1]!, 'Question: Product\nHow do I start?\tAnswer: Press start.\nthen wait', 'Product\nHow do I start?', 0);
    expectQaFields(chunks[2]!, 'Question: Product\nWhat does it cost?\tAnswer: See the table.', 'Product\nWhat does it cost?', 1);
    // a blank paragraph is an answer for RAGFlow (its answer text is "\n", empty once stripped)
    expectQaFields(chunks[3]!, 'Question: Blank\tAnswer: ', 'Blank', 2);
    expectQaFields(chunks[4]!, 'Question: Last\tAnswer: Bye.', 'Last', 3);
  });
});
