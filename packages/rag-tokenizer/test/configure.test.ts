import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { configureRagTokenizer, fulltextQueryer, tokenize } from '../src/index.js';

// the process-wide tokenizer as a service's config sets it up (RAG_TOKENIZER_DICT, RAGFLOW_RES_DIR)
describe('configureRagTokenizer', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ragline-ragres-'));
  afterAll(() => {
    configureRagTokenizer({});
    rmSync(dir, { recursive: true, force: true });
  });

  it('segments with the configured dictionary', () => {
    configureRagTokenizer({});
    const byDefault = tokenize('拉链式消费者组');
    writeFileSync(join(dir, 'huqie.txt'), ['拉链式 900000 n', '消费者组 900000 n', '消费者 10 n'].join('\n'));
    configureRagTokenizer({ dictionary: join(dir, 'huqie.txt') });
    expect(tokenize('拉链式消费者组')).toBe('拉链式 消费者组');
    expect(byDefault).not.toBe('拉链式 消费者组');
  });

  it("adds synonym.json's synonyms and WordNet's to queries, and WordNet's only when switched on", () => {
    writeFileSync(join(dir, 'synonym.json'), JSON.stringify({ 文档: ['文件'] }));
    configureRagTokenizer({ resourcesDir: dir });
    expect(fulltextQueryer().question('文档').keywords).toContain('文件');
    // WordNet is asked for the query's (stemmed) tokens: 'term' has the synsets condition.n.xx and
    // terminus.n.xx (a query of three words or fewer takes RAGFlow's Chinese path, which keeps synonyms as they are)
    const withWordnet = fulltextQueryer().question('licence terms').keywords;
    expect(withWordnet).toEqual(expect.arrayContaining(['condition', 'terminus']));
    configureRagTokenizer({ resourcesDir: dir, wordnetSynonyms: false });
    const without = fulltextQueryer().question('licence terms').keywords;
    expect(without).not.toContain('condition');
    expect(withWordnet.length).toBeGreaterThan(without.length);
    expect(fulltextQueryer().question('文档').keywords).toContain('文件');
  });
});
