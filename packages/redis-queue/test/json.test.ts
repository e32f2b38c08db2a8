import { describe, expect, it } from 'vitest';
import { pyFloat, pythonFloatRepr, pythonJsonDumps } from '../src/index.js';

describe('pythonJsonDumps', () => {
  it('is byte-identical to Python json.dumps for non-ASCII and nested values', () => {
    const task = {
      id: '7c9e6679742545d0b5c4a2c4d7e0f0a1',
      doc_id: 'd41d8cd98f00b204e9800998ecf8427e',
      progress: pyFloat(0),
      from_page: 0,
      to_page: 100000000,
      name: 'Résumé — 简历 😀.pdf',
      quote: 'say "hi"\\ \n\t/\x7f',
      nested: { list: [1, 2.5, -0.001, 1e-7, true, false, null, {}], empty: [], big: 12345678901234567890n },
      ratio: pyFloat(1.5e16),
    };
    // python3 -c 'import json; print(json.dumps({...same dict...}))'
    const expected =
      '{"id": "7c9e6679742545d0b5c4a2c4d7e0f0a1", "doc_id": "d41d8cd98f00b204e9800998ecf8427e", "progress": 0.0, ' +
      '"from_page": 0, "to_page": 100000000, "name": "R\\u00e9sum\\u00e9 \\u2014 \\u7b80\\u5386 \\ud83d\\ude00.pdf", ' +
      '"quote": "say \\"hi\\"\\\\ \\n\\t/\\u007f", "nested": {"list": [1, 2.5, -0.001, 1e-07, true, false, null, {}], ' +
      '"empty": [], "big": 12345678901234567890}, "ratio": 1.5e+16}';
    expect(pythonJsonDumps(task)).toBe(expected);
  });

  it('writes floats as Python repr', () => {
    const cases: [number, string][] = [
      [0.1, '0.1'],
      [123.456, '123.456'],
      [1e-5, '1e-05'],
      [0.0001, '0.0001'],
      [1.5e-10, '1.5e-10'],
      [1e22, '1e+22'],
      [-2.5, '-2.5'],
      [1e15 + 0.5, '1000000000000000.5'],
      [NaN, 'NaN'],
      [-Infinity, '-Infinity'],
    ];
    for (const [x, repr] of cases) expect(pythonFloatRepr(x)).toBe(repr);
    expect(pythonJsonDumps([pyFloat(12), pyFloat(1e16)])).toBe('[12.0, 1e+16]');
  });

  it('follows JSON.stringify for undefined, toJSON and cycles', () => {
    expect(pythonJsonDumps({ a: undefined, b: [undefined], c: new Date(Date.UTC(2026, 0, 2)) })).toBe(
      '{"b": [null], "c": "2026-01-02T00:00:00.000Z"}',
    );
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => pythonJsonDumps(cyclic)).toThrow(/Circular/);
  });
});
