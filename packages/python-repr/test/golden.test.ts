import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PyFloat, pythonJsonDumps, pythonRepr, pythonStr } from '../src/index.js';

interface Golden {
  value: unknown;
  str: string;
  repr: string;
  json: string;
  json_unicode: string;
}

/** Integral floats are marked {"$float": x} by the generator: JSON alone cannot tell 1.0 from 1. */
function revive(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(revive);
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if (Object.keys(o).length === 1 && typeof o.$float === 'number') return new PyFloat(o.$float);
    return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, revive(x)]));
  }
  return v;
}

const golden = readFileSync(new URL('../golden/values.jsonl', import.meta.url), 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((l) => JSON.parse(l) as Golden);

describe('Python str / repr / json.dumps (golden from python3 golden/generate.py)', () => {
  it('has the generated cases', () => expect(golden.length).toBeGreaterThan(30));
  it.each(golden.map((g) => [g.repr, g] as const))('%s', (_, g) => {
    const v = revive(g.value);
    expect(pythonStr(v)).toBe(g.str);
    expect(pythonRepr(v)).toBe(g.repr);
    expect(pythonJsonDumps(v)).toBe(g.json);
    expect(pythonJsonDumps(v, { ensureAscii: false })).toBe(g.json_unicode);
  });
});
