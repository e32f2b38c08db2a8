import { ProgressEvent, msgIds, type Stage, type TopologyNames } from '@ragline/contracts';
import type { Publisher } from '@ragline/bus';
import { randomUUID } from 'node:crypto';

/** Progress bands each stage reports in (documented in docs/architecture.md). */
export const PROGRESS = {
  parseStart: 0.1,
  parseDone: 0.3,
  /** the enricher's band, the share of a task's batches enriched (only for tasks that ask for LLM work) */
  enrichFloor: 0.3,
  enrichCeil: 0.6,
  /** the indexer's band, the share of batches indexed; it takes over once above the enricher's (progress only rises) */
  indexFloor: 0.3,
  indexCeil: 0.99,
} as const;

/** Progress when `indexed` of `total` batches are in the doc store. */
export function indexingProgress(indexed: number, total: number | null): number | null {
  if (total === null) return null;
  if (total === 0) return PROGRESS.indexCeil;
  return PROGRESS.indexFloor + (PROGRESS.indexCeil - PROGRESS.indexFloor) * Math.min(1, indexed / total);
}

export interface ProgressReporter {
  report(
    task: { task_id: string; doc_id: string; from_page?: number; to_page?: number },
    msg: string,
    progress?: number | null,
    opts?: { pageRange?: boolean; key?: string },
  ): Promise<void>;
}

/** Publishes progress events for the monitor; `key` makes a repeated report (redelivery) a duplicate. */
export function progressReporter(publisher: Publisher, names: TopologyNames, stage: Stage): ProgressReporter {
  return {
    async report(task, msg, progress = null, opts = {}) {
      const pageRange =
        opts.pageRange && task.from_page !== undefined && task.to_page !== undefined ? { from: task.from_page, to: task.to_page } : null;
      await publisher.publish(
        names.subjects.progress,
        ProgressEvent,
        { v: 1, kind: 'progress', task_id: task.task_id, doc_id: task.doc_id, at: Date.now(), stage, progress, msg, page_range: pageRange },
        { msgID: opts.key ? `progress.${task.task_id}.${opts.key}` : `progress.${randomUUID()}`, taskId: task.task_id, docId: task.doc_id },
      );
    },
  };
}

export { msgIds };
