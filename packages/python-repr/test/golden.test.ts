import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { pythonJsonDumps, pythonRepr, pythonStr, reviveFloats } from '../src/index.js';

interface Golden {
  value: unknown;
  str: string;
  repr: string;
  json: string;
  json_unicode: string;
}

const golden = readFileSync(new URL('../golden/values.jsonl', import.meta.url), 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((l) => JSON.parse(l) as Golden);

describe('Python str / repr / json.dumps (golden from python3 golden/generate.py)', () => {
  it('has the generated cases', () => expect(golden.length).toBeGreaterThan(30));
  it.each(golden.map((g) => [g.repr, g] as const))('%s', (_, g) => {
    const v = reviveFloats(g.value);
    expect(pythonStr(v)).toBe(g.str);
    expect(pythonRepr(v)).toBe(g.repr);
    expect(pythonJsonDumps(v)).toBe(g.json);
    expect(pythonJsonDumps(v, { ensureAscii: false })).toBe(g.json_unicode);
  });
});
