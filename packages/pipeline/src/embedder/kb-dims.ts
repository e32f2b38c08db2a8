import { PermanentError } from '@ragline/bus';
import { vectorField } from '@ragline/embedding';
import type { Redis } from 'ioredis';

/** The knowledge base already holds vectors of another size: indexing this task would mix fields. */
export class VectorDimensionMismatchError extends PermanentError {
  override name = 'VectorDimensionMismatchError';
  constructor(
    readonly kbId: string,
    readonly expected: { dim: number; embd_id: string; model: string },
    readonly got: { dim: number; embd_id: string; model: string },
  ) {
    super(
      `embedding dimension mismatch for knowledge base ${kbId}: it already holds ${expected.dim}-dim vectors ` +
        `(${vectorField(expected.dim)}, embd_id ${expected.embd_id}, model ${expected.model}), but embd_id ${got.embd_id} ` +
        `is served by model ${got.model} which returns ${got.dim}-dim vectors (${vectorField(got.dim)}); ` +
        `configure EMBEDDING_BACKENDS so ${got.embd_id} maps to a ${expected.dim}-dim model, or re-embed the knowledge base`,
    );
  }
}

export interface KbDimensionGuard {
  /** records the first dimension a knowledge base is embedded with; throws VectorDimensionMismatchError on a different one */
  check(kb: { tenant_id: string; kb_id: string; embd_id: string }, dim: number, model: string): Promise<void>;
}

interface DimRecord {
  dim: number;
  embd_id: string;
  model: string;
  at: number;
}

/**
 * Per knowledge base vector size, in Redis (`ragline:kb_vector_dim:<tenant>:<kb>`, no expiry): the first
 * batch embedded for a knowledge base claims it with SET NX, every later batch must match. Redis is
 * shared by every replica and, unlike the 7-day task-state KV bucket, does not forget a quiet
 * knowledge base. Confirmed sizes are cached per process so the check costs one round trip per
 * knowledge base, not per batch.
 */
export function createKbDimensionGuard(redis: Redis, opts: { keyPrefix?: string } = {}): KbDimensionGuard {
  const prefix = opts.keyPrefix ?? 'ragline:kb_vector_dim:';
  const known = new Map<string, number>();
  return {
    async check(kb, dim, model) {
      const key = `${prefix}${kb.tenant_id}:${kb.kb_id}`;
      if (known.get(key) === dim) return;
      const mine: DimRecord = { dim, embd_id: kb.embd_id, model, at: Date.now() };
      const set = await redis.set(key, JSON.stringify(mine), 'NX');
      let rec = mine;
      if (set !== 'OK') {
        const raw = await redis.get(key);
        if (raw) rec = JSON.parse(raw) as DimRecord;
      }
      if (rec.dim !== dim) throw new VectorDimensionMismatchError(kb.kb_id, rec, mine);
      if (known.size > 10_000) known.clear();
      known.set(key, dim);
    },
  };
}
