import { Kvm, type KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { isJsWrongLastSequence } from './errors.js';

/** What the indexer knows about one task, shared by all indexer replicas through a KV bucket. */
export interface TaskState {
  /** batch numbers already indexed (sorted, unique) */
  batches: number[];
  chunks: number;
  tokens: number;
  /** from the parser's manifest; null until it arrives */
  expectedBatches: number | null;
  expectedChunks: number | null;
  /** set once, by the replica that completes the task */
  completedAt: number | null;
}

const EMPTY: TaskState = { batches: [], chunks: 0, tokens: 0, expectedBatches: null, expectedChunks: null, completedAt: null };

export function isTaskComplete(s: TaskState): boolean {
  return s.expectedBatches !== null && s.batches.length >= s.expectedBatches;
}

const KEY = /^[A-Za-z0-9_-]+$/;

/**
 * Compare-and-set updates over NATS KV so batches can land in any order, on any replica, any number
 * of times, and completion is still decided exactly once.
 */
export class TaskStateStore {
  constructor(private readonly kv: KV) {}

  static async open(nc: NatsConnection, bucket: string): Promise<TaskStateStore> {
    return new TaskStateStore(await new Kvm(nc).open(bucket));
  }

  private key(taskId: string): string {
    if (!KEY.test(taskId)) throw new Error(`invalid task id for state key: ${taskId}`);
    return `task.${taskId}`;
  }

  async get(taskId: string): Promise<TaskState> {
    const e = await this.kv.get(this.key(taskId));
    return e && e.operation === 'PUT' && e.length ? { ...EMPTY, ...(e.json() as TaskState) } : { ...EMPTY };
  }

  /** Applies `change` atomically; returns the new state and whether anything changed. */
  async update(taskId: string, change: (s: TaskState) => TaskState | null): Promise<{ state: TaskState; changed: boolean }> {
    const key = this.key(taskId);
    for (let attempt = 0; attempt < 50; attempt++) {
      const e = await this.kv.get(key);
      const exists = !!e && e.operation === 'PUT' && e.length > 0;
      const cur: TaskState = exists ? { ...EMPTY, ...(e!.json() as TaskState) } : { ...EMPTY };
      const next = change(structuredClone(cur));
      if (!next) return { state: cur, changed: false };
      const data = JSON.stringify(next);
      try {
        if (exists) await this.kv.update(key, data, e!.revision);
        else if (e) await this.kv.update(key, data, e.revision);
        else await this.kv.create(key, data);
        return { state: next, changed: true };
      } catch (err) {
        if (!isJsWrongLastSequence(err)) throw err;
        // lost the race with another replica: re-read and retry
      }
    }
    throw new Error(`task state for ${taskId}: too much contention`);
  }

  recordBatch(taskId: string, batchNo: number, chunks: number, tokens: number) {
    return this.update(taskId, (s) => {
      if (s.batches.includes(batchNo)) return null;
      s.batches = [...s.batches, batchNo].sort((a, b) => a - b);
      s.chunks += chunks;
      s.tokens += tokens;
      return s;
    });
  }

  recordManifest(taskId: string, batches: number, chunks: number) {
    return this.update(taskId, (s) => {
      if (s.expectedBatches === batches && s.expectedChunks === chunks) return null;
      s.expectedBatches = batches;
      s.expectedChunks = chunks;
      return s;
    });
  }

  /** True for exactly one caller: the one that flips completedAt. */
  async markCompleted(taskId: string): Promise<boolean> {
    const r = await this.update(taskId, (s) => {
      if (s.completedAt !== null || !isTaskComplete(s)) return null;
      s.completedAt = Date.now();
      return s;
    });
    return r.changed;
  }

  async delete(taskId: string): Promise<void> {
    await this.kv.delete(this.key(taskId));
  }
}
