import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildChunks, initHashing, naiveMerge } from '../src/index.js';

// RAGFlow's own output for real strings (generated with its Python tokenizer: see packages/rag-tokenizer/golden)
const goldenPath = new URL('../../rag-tokenizer/test/data/golden-tokenize.jsonl', import.meta.url);
const golden = readFileSync(goldenPath, 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((l) => JSON.parse(l) as { kind: string; text: string; tokenize: string; fine: string });

describe('chunk token fields are RAGFlow rag_tokenizer output', () => {
  beforeAll(async () => {
    await initHashing();
  });

  it.each(['en-prose', 'zh-simplified', 'zh-traditional', 'zh-mixed-latin', 'fullwidth'])('content_ltks / content_sm_ltks for %s text', (kind) => {
    const g = golden.find((x) => x.kind === kind && x.text.length > 20)!;
    const [chunk] = buildChunks({ doc_id: 'd', kb_id: 'k', doc_name: 'x.txt' }, naiveMerge([{ text: g.text }], { chunkTokenNum: 100_000 }));
    expect(chunk!.content_ltks).toBe(g.tokenize);
    expect(chunk!.content_sm_ltks).toBe(g.fine);
  });

  it('title_tks from the document name without its extension, stemmed as RAGFlow', () => {
    const [chunk] = buildChunks({ doc_id: 'd', kb_id: 'k', doc_name: 'Copies of Licenses.pdf' }, naiveMerge([{ text: 'x' }], {}));
    expect(chunk!.title_tks).toBe('copi of licens');
  });
});
