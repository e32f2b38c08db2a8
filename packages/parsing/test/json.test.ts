import { describe, expect, it } from 'vitest';
import { chunkDocument, flattenJson, MAX_LINE_NOTES, parseDocument, ParseError } from '../src/index.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('JSON', () => {
  it('flattens each element of a top-level array into "path: value" lines', async () => {
    const data = [
      { name: 'Ann', tags: ['a', 'b'], address: { city: 'Paris', 'zip code': '75001' } },
      { name: 'Bob', active: false, spouse: null, empty: {}, none: [] },
    ];
    const doc = await parseDocument({ name: 'people.json', data: enc(JSON.stringify(data, null, 2)) });
    expect(doc.format).toBe('json');
    expect(doc.sections.map((s) => s.text)).toEqual([
      'name: Ann\ntags[0]: a\ntags[1]: b\naddress.city: Paris\naddress["zip code"]: 75001',
      'name: Bob\nactive: false\nspouse: null\nempty: {}\nnone: []',
    ]);
  });

  it('makes each key of a top-level object an item, paths starting at the key', async () => {
    const doc = await parseDocument({ name: 'config.json', data: enc('{"server":{"port":8080,"hosts":["a","b"]},"debug":true}') });
    expect(doc.sections.map((s) => s.text)).toEqual(['server.port: 8080\nserver.hosts[0]: a\nserver.hosts[1]: b', 'debug: true']);
  });

  it('accepts a scalar document', async () => {
    const doc = await parseDocument({ name: 'quote.json', data: enc('"to be or not to be"') });
    expect(doc.sections.map((s) => s.text)).toEqual(['to be or not to be']);
  });

  it('flattens nested arrays', () => {
    expect(flattenJson({ m: [[1, 2], [3]] })).toEqual(['m[0][0]: 1', 'm[0][1]: 2', 'm[1][0]: 3']);
  });

  it('rejects invalid JSON as corrupt', async () => {
    const err = await parseDocument({ name: 'broken.json', data: enc('{"a": 1,') }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ParseError);
    expect((err as ParseError).code).toBe('corrupt');
    expect((err as ParseError).message).toMatch(/^invalid JSON: broken\.json could not be parsed \(.+\)$/);
  });
});

describe('JSON Lines', () => {
  it('makes one item per line and notes a bad line with its line number', async () => {
    const text = '{"id":1,"text":"first"}\n\n{"id":2,"text":"second"\n{"id":3,"text":"third"}\n';
    const doc = await parseDocument({ name: 'events.jsonl', data: enc(text) });
    expect(doc.format).toBe('jsonl');
    expect(doc.sections.map((s) => s.text)).toEqual(['id: 1\ntext: first', 'id: 3\ntext: third']);
    expect(doc.notes).toHaveLength(1);
    expect(doc.notes[0]).toMatch(/^line 3 of events\.jsonl is not valid JSON and was skipped \(.+\)$/);
    expect(chunkDocument(doc, { chunk_token_num: 4, delimiter: '\n' }).length).toBeGreaterThanOrEqual(2);
  });

  it('summarises bad lines past the first ten', async () => {
    const lines = ['{"ok":true}'];
    for (let i = 0; i < MAX_LINE_NOTES + 3; i++) lines.push('not json');
    const doc = await parseDocument({ name: 'noisy.ndjson', data: enc(lines.join('\n')) });
    expect(doc.sections.map((s) => s.text)).toEqual(['ok: true']);
    expect(doc.notes).toHaveLength(MAX_LINE_NOTES + 1);
    expect(doc.notes.at(-1)).toBe('3 more invalid line(s) in noisy.ndjson were skipped (lines 12, 13, 14)');
  });

  it('fails when no line is valid JSON', async () => {
    const err = await parseDocument({ name: 'bad.jsonl', data: enc('nope\nstill nope\n') }).catch((e: unknown) => e);
    expect((err as ParseError).code).toBe('corrupt');
    expect((err as ParseError).message).toBe('invalid JSON Lines: none of the 2 lines of bad.jsonl is valid JSON (first bad line: 1)');
  });
});
