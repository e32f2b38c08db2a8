import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { scoreTags, tagShares, turn2jsonschema, updateMetadataTo, type TagCounts } from '../src/index.js';

const read = <T>(name: string): T[] =>
  readFileSync(new URL(`../golden/${name}`, import.meta.url), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as T);

type TagRow = { counts: TagCounts; all_tags: Array<[string, number]>; match: TagCounts; topn: number; matched: boolean; tag_feas: Record<string, number> | null };

describe("tag scoring (golden: RAGFlow's Dealer.all_tags_in_portion / tag_content over the same aggregates)", () => {
  const rows = read<TagRow>('tags.jsonl');
  it('has scored cases', () => expect(rows.filter((r) => r.tag_feas && Object.keys(r.tag_feas).length > 1).length).toBeGreaterThan(5));
  it.each(rows.map((r, i) => [i, r] as const))('case %i', (_, r) => {
    const shares = tagShares(r.counts);
    expect([...shares.entries()]).toEqual(r.all_tags);
    const tags = scoreTags(r.match, shares, r.topn);
    expect(tags !== undefined).toBe(r.matched);
    if (r.matched) expect(tags).toEqual(r.tag_feas);
  });
});

type MetaRow = { op: 'turn2jsonschema'; input: unknown; output: unknown } | { op: 'update_metadata_to'; steps: unknown[]; output: unknown };

describe("metadata (golden: RAGFlow's turn2jsonschema / update_metadata_to)", () => {
  const rows = read<MetaRow>('metadata.jsonl');
  it.each(rows.map((r, i) => [`${r.op} ${i}`, r] as const))('%s', (_, r) => {
    if (r.op === 'turn2jsonschema') expect(turn2jsonschema(r.input)).toEqual(r.output);
    else {
      let md: Record<string, unknown> = {};
      for (const step of r.steps) md = updateMetadataTo(md, step);
      expect(md).toEqual(r.output);
    }
  });
});
