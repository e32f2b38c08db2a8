import { DocStoreError } from './errors.js';

const VECTOR_FIELD = /^q_(\d+)_vec$/;

export function vectorFieldOf(dim: number): `q_${number}_vec` {
  return `q_${dim}_vec`;
}

/** The document's one `q_<dim>_vec` field; throws a permanent DocStoreError if there is none, several, or a bad one. */
export function getVector(doc: Record<string, unknown>): { dim: number; vector: number[]; field: `q_${number}_vec` } {
  let found: { dim: number; vector: number[]; field: `q_${number}_vec` } | undefined;
  for (const key of Object.keys(doc)) {
    const m = VECTOR_FIELD.exec(key);
    if (!m) continue;
    if (found) throw new DocStoreError(`document has two vector fields (${found.field}, ${key})`, false);
    const dim = Number(m[1]);
    const value = doc[key];
    if (!Array.isArray(value) && !(value instanceof Float32Array)) throw new DocStoreError(`${key} is not an array`, false);
    if (value.length !== dim) throw new DocStoreError(`${key} has ${value.length} values, expected ${dim}`, false);
    const vector = Array.from(value as ArrayLike<unknown>, (x) => {
      if (typeof x !== 'number' || !Number.isFinite(x)) throw new DocStoreError(`${key} holds a non-finite or non-numeric value`, false);
      return x;
    });
    found = { dim, vector, field: key as `q_${number}_vec` };
  }
  if (!found) throw new DocStoreError('document has no q_<dim>_vec field', false);
  return found;
}

