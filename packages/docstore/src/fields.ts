import { DocStoreError } from './errors.js';

const VECTOR_FIELD = /^q_(\d+)_vec$/;

/** Whether a field name is a `q_<dim>_vec` vector field. */
export function isVectorField(key: string): boolean {
  return VECTOR_FIELD.test(key);
}

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


/** Cosine similarity; 0 when either vector is all zeros. */
export function cosine(a: readonly number[], b: readonly number[]): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}

/** A search request's result count and hybrid vector weight (RAGFlow default 0.3), validated the same for every store. */
export function searchOptions(req: { topK?: number; vectorSimilarityWeight?: number }): { topK: number; weight: number } {
  const topK = req.topK ?? 10;
  if (!Number.isInteger(topK) || topK <= 0) throw new DocStoreError(`topK must be a positive integer, got ${topK}`, false);
  const weight = req.vectorSimilarityWeight ?? 0.3;
  if (!(weight >= 0 && weight <= 1)) throw new DocStoreError(`vectorSimilarityWeight must be in [0, 1], got ${weight}`, false);
  return { topK, weight };
}
