import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { RagflowSynonyms, wordnetSynonyms } from '../src/index.js';

const golden = readFileSync(new URL('./data/golden-synonyms.jsonl', import.meta.url), 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((l) => JSON.parse(l) as { word: string; synonyms: string[] });

describe('WordNet synonyms (RAGFlow synonym.py golden data)', () => {
  it('finds the same synonym set as RAGFlow with NLTK for every word', () => {
    expect(golden.length).toBeGreaterThanOrEqual(3000);
    expect(golden.filter((g) => g.synonyms.length).length).toBeGreaterThan(1000);
    const misses = golden.filter((g) => JSON.stringify([...wordnetSynonyms(g.word)].sort()) !== JSON.stringify(g.synonyms));
    expect(misses.map((m) => `${m.word}: want ${m.synonyms.join('|')} got ${wordnetSynonyms(m.word).join('|')}`)).toEqual([]);
  });

  it('keeps WordNet sense order and cuts at 8', () => {
    const s = new RagflowSynonyms();
    const all = wordnetSynonyms('run');
    expect(all.length).toBeGreaterThan(8);
    expect(s.lookup('run')).toEqual(all.slice(0, 8));
    expect(s.lookup('run')).not.toContain('run');
  });
});

describe('RagflowSynonyms', () => {
  it('takes the custom dictionary first, lower-cased keys, a string value as one synonym', () => {
    const s = new RagflowSynonyms({ dictionary: { 消费者: ['顾客', '用户'], Copy: 'duplicate' } });
    expect(s.lookup('消费者')).toEqual(['顾客', '用户']);
    expect(s.lookup('copy')).toEqual(['duplicate']);
  });

  it('falls back to WordNet only for a-z words, and not at all when switched off', () => {
    expect(new RagflowSynonyms().lookup('licence')).toContain('license');
    expect(new RagflowSynonyms().lookup('Licence')).toEqual([]);
    expect(new RagflowSynonyms().lookup('gpl-3')).toEqual([]);
    expect(new RagflowSynonyms({ wordnet: false }).lookup('licence')).toEqual([]);
  });
});
