import { connectNats } from '@ragline/bus';
import { ragflowQueueNames, topologyNames } from '@ragline/contracts';
import { stageStats } from '@ragline/pipeline';
import { listWorkers } from '@ragline/redis-queue';
import { jetstreamManager } from '@nats-io/jetstream';
import type { CliEnv, Clients } from './context.js';

export async function collectStatus(cfg: CliEnv, clients: Clients) {
  const names = topologyNames(cfg.RAGLINE_SUBJECT_PREFIX, cfg.RAGLINE_STREAM_PREFIX);
  const nc = await connectNats({ url: cfg.NATS_URL, user: cfg.NATS_USER, password: cfg.NATS_PASSWORD, token: cfg.NATS_TOKEN });
  try {
    const jsm = await jetstreamManager(nc);
    const queues = cfg.RAGFLOW_QUEUES ? cfg.RAGFLOW_QUEUES.split(',') : ragflowQueueNames(cfg.RAGFLOW_QUEUE_NAMING);
    const [workers, stages, tasks] = await Promise.all([
      listWorkers(clients.redis),
      stageStats({ jsm, names, redis: clients.redis, queues }),
      clients.taskdb.listTasks({ limit: 10 }),
    ]);
    return { workers, ...stages, tasks };
  } finally {
    await nc.close();
  }
}

export function formatStatus(s: Awaited<ReturnType<typeof collectStatus>>): string {
  const lines: string[] = ['Workers:'];
  if (!s.workers.length) lines.push('  (none registered)');
  for (const w of s.workers) lines.push(`  ${w.alive ? 'up  ' : 'DOWN'} ${w.name}  last beat ${w.lastBeatAt ? new Date(w.lastBeatAt).toISOString() : '-'}`);
  lines.push('Stages (JetStream consumers):');
  for (const st of s.stages as Record<string, unknown>[]) {
    lines.push(
      st.error
        ? `  ${String(st.stage).padEnd(9)} unavailable: ${String(st.error)}`
        : `  ${String(st.stage).padEnd(9)} pending ${st.pending}  in flight ${st.ackPending}  redelivered ${st.redelivered}`,
    );
  }
  lines.push('RAGFlow queues:');
  for (const q of s.queues) lines.push(`  ${q.stream.padEnd(22)} length ${q.length}  pending ${q.pending}  lag ${q.lag ?? '-'}`);
  lines.push('Recent tasks:');
  if (!s.tasks.length) lines.push('  (none)');
  for (const t of s.tasks) {
    const p = Number(t.progress);
    const state = p < 0 ? 'failed' : p >= 1 ? 'done' : 'running';
    const pct = p < 0 ? '   -' : (p * 100).toFixed(0).padStart(4);
    lines.push(`  ${t.id}  ${state.padEnd(7)} ${pct}%  ${t.doc_name ?? t.doc_id}`);
  }
  return lines.join('\n');
}
