import { PyFloat } from './python.js';

/**
 * Reads back the golden generators' float marking (golden/floats.py): JSON alone cannot tell 1.0
 * from 1, so integral Python floats are written {"$float": x} and come back here as PyFloat(x).
 */
export function reviveFloats(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(reviveFloats);
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if (Object.keys(o).length === 1 && typeof o.$float === 'number') return new PyFloat(o.$float);
    return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, reviveFloats(x)]));
  }
  return v;
}
