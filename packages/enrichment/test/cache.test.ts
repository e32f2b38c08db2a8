import { readFileSync } from 'node:fs';
import { reviveFloats } from '@ragline/python-repr';
import { afterAll, describe, expect, it } from 'vitest';
import { LLM_CACHE_TTL_S, LlmCache, llmCacheKey, parseTagSet, tagsCacheKey, TAGS_CACHE_TTL_S } from '../src/index.js';
import { testRedis, uniqueModel } from './helpers.js';

type LlmRow = { llmnm: string; txt: string; history: string | { $pairs: Array<[string, number]> }; genconf: unknown; key: string; ttl: number };
type TagRow = { kb_ids: string[]; key: string; value: string; ttl: number; tags: Array<[string, number]> };
const rows = readFileSync(new URL('../golden/cache_keys.jsonl', import.meta.url), 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((l) => JSON.parse(l) as LlmRow | TagRow);
const llmRows = rows.filter((r): r is LlmRow => 'llmnm' in r);
const tagRows = rows.filter((r): r is TagRow => 'kb_ids' in r);

describe("RAGFlow's LLM cache key (golden: get_llm_cache / set_llm_cache run with a recording Redis)", () => {
  it('covers the calls RAGFlow makes', () => {
    expect(llmRows.length).toBeGreaterThan(100);
    expect(new Set(llmRows.map((r) => (typeof r.history === 'string' ? r.history : 'tags')))).toEqual(new Set(['keywords', 'question', 'metadata', 'tags', "['Chapter 1', \"It's\"]"]));
  });
  it.each(llmRows.map((r) => [`${r.llmnm} ${JSON.stringify(r.history).slice(0, 20)} ${JSON.stringify(r.genconf).slice(0, 40)} ${JSON.stringify(r.txt).slice(0, 30)}`, r] as const))(
    '%s',
    (_, r) => {
      // the tag set is a Map in Ragline (its order is part of the key)
      const history = typeof r.history === 'string' ? r.history : new Map(r.history.$pairs);
      expect(llmCacheKey(r.llmnm, r.txt, history, reviveFloats(r.genconf))).toBe(r.key);
      expect(r.ttl).toBe(LLM_CACHE_TTL_S);
    },
  );
  it.each(tagRows.map((r) => [JSON.stringify(r.kb_ids), r] as const))('tag set key and value for %s', (_, r) => {
    expect(tagsCacheKey(r.kb_ids)).toBe(r.key);
    expect(r.ttl).toBe(TAGS_CACHE_TTL_S);
    // the value RAGFlow writes reads back in its (insertion) order, the integer-like tag included
    expect([...parseTagSet(r.value)!.entries()]).toEqual(r.tags);
    expect(r.tags.map(([t]) => t)).toEqual(['finance', 'tax.law', '2024', '税务']);
  });
});

describe('LlmCache on Redis', () => {
  const redis = testRedis();
  const cache = new LlmCache(redis);
  const written: string[] = [];
  afterAll(async () => {
    if (written.length) await redis.del(...written);
    redis.disconnect();
  });

  it('stores the answer under the key RAGFlow computes, for 24 h; an empty value is a miss', async () => {
    const model = uniqueModel();
    await cache.set(model, 'text', 'a, b, c', 'keywords', { topn: 3 });
    const key = llmCacheKey(model, 'text', 'keywords', { topn: 3 });
    written.push(key);
    expect(await redis.get(key)).toBe('a, b, c');
    const ttl = await redis.ttl(key);
    expect(ttl).toBeGreaterThan(LLM_CACHE_TTL_S - 5);
    expect(await cache.get(model, 'text', 'keywords', { topn: 3 })).toBe('a, b, c');
    expect(await cache.get(model, 'text', 'keywords', { topn: 4 })).toBeUndefined();
    await cache.set(model, 'empty', '', 'keywords', { topn: 3 });
    written.push(llmCacheKey(model, 'empty', 'keywords', { topn: 3 }));
    expect(await cache.get(model, 'empty', 'keywords', { topn: 3 })).toBeUndefined();
  });

  it("writes the tag set as Python's json.dumps and reads it back in order", async () => {
    const kbIds = [uniqueModel('kb'), '标签库'];
    const tags = new Map([
      ['finance', 0.002997002997002997],
      ['2024', 0.000999000999000999],
      ['税务', 0.001998001998001998],
    ]);
    await cache.setTags(kbIds, tags);
    written.push(tagsCacheKey(kbIds));
    expect(await redis.get(tagsCacheKey(kbIds))).toBe('{"finance": 0.002997002997002997, "2024": 0.000999000999000999, "\\u7a0e\\u52a1": 0.001998001998001998}');
    expect([...(await cache.getTags(kbIds))!.entries()]).toEqual([...tags.entries()]);
    expect(await redis.ttl(tagsCacheKey(kbIds))).toBeGreaterThan(TAGS_CACHE_TTL_S - 5);
  });

  it('reads only flat number objects as tag sets', () => {
    expect(parseTagSet('{}')).toEqual(new Map());
    expect(parseTagSet('{"a": 1, "b": 2.5e-05}')).toEqual(new Map([['a', 1], ['b', 2.5e-5]]));
    expect(parseTagSet('{"a": "x"}')).toBeUndefined();
    expect(parseTagSet('[1]')).toBeUndefined();
  });
});
