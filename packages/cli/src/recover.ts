import { jetstreamManager } from '@nats-io/jetstream';
import { connectNats } from '@ragline/bus';
import { ragflowQueueNames, topologyNames } from '@ragline/contracts';
import { formatDuration, recoverUnheldTasks, type RecoveryResult } from '@ragline/pipeline';
import { createLogger } from '@ragline/telemetry';
import type { CliEnv, Clients } from './context.js';

export interface RecoverOptions {
  /** only tasks without progress for this long; default 60000 (a task just queued by RAGFlow may not be in Redis yet) */
  olderThanMs?: number;
  /** most tasks looked at; default 10000 */
  limit?: number;
  dryRun?: boolean;
}

/**
 * `ragline recover`: re-enqueues to RAGFlow's queue every task MySQL says is unfinished but that no
 * stage holds (no unacked queue entry, no message in a JetStream work stream), e.g. after a Redis
 * restart without persistence lost the queue. The bridge then applies RAGFlow's 3-attempt limit.
 */
export async function recoverTasks(cfg: CliEnv, clients: Pick<Clients, 'taskdb' | 'redis'>, opts: RecoverOptions = {}): Promise<RecoveryResult> {
  const names = topologyNames(cfg.RAGLINE_SUBJECT_PREFIX, cfg.RAGLINE_STREAM_PREFIX);
  const nc = await connectNats({ url: cfg.NATS_URL, user: cfg.NATS_USER, password: cfg.NATS_PASSWORD, token: cfg.NATS_TOKEN, name: 'ragline-recover' });
  try {
    const jsm = await jetstreamManager(nc);
    const queues = cfg.RAGFLOW_QUEUES ? cfg.RAGFLOW_QUEUES.split(',') : ragflowQueueNames(cfg.RAGFLOW_QUEUE_NAMING);
    return await recoverUnheldTasks(
      { taskdb: clients.taskdb, redis: clients.redis, jsm, names, queues, logger: createLogger({ service: 'ragline-cli', level: 'silent' }) },
      { olderThanMs: opts.olderThanMs ?? 60_000, limit: opts.limit ?? 10_000, maxRetries: null, actor: 'ragline recover', dryRun: opts.dryRun },
    );
  } finally {
    await nc.close();
  }
}

export function formatRecovery(r: RecoveryResult, opts: { dryRun?: boolean; olderThanMs: number }): string {
  if (!r.complete) return `the backlog is larger than the scan limit: cannot tell which of ${r.candidates} unfinished tasks are lost; nothing re-enqueued`;
  const lines = [
    `${r.candidates} unfinished task(s) without progress for ${formatDuration(opts.olderThanMs)}: ${r.held} held by a stage, ${r.cancelled.length} cancelled`,
  ];
  for (const t of r.requeued) lines.push(`  ${opts.dryRun ? 'would re-enqueue' : 're-enqueued'} ${t.id} (document ${t.doc_id}) to ${t.stream}`);
  lines.push(r.requeued.length ? `${r.requeued.length} task(s) ${opts.dryRun ? 'would be' : ''} re-enqueued`.replace('  ', ' ') : 'nothing to re-enqueue');
  return lines.join('\n');
}
