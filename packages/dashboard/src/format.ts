import type { StageSample, TaskRow } from './types.js';

/** "3s ago", "2m ago", "1h ago" (never negative: clocks of workers and browser differ a little). */
export function ago(at: number | null, now: number): string {
  if (at === null) return 'never';
  const s = Math.max(0, Math.round((now - at) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  return `${Math.floor(s / 3600)}h ago`;
}

/** Seconds as "0.42s", "12.3s", "4m 05s". */
export function seconds(s: number): string {
  if (!Number.isFinite(s)) return '-';
  if (s < 10) return `${s.toFixed(2)}s`;
  if (s < 60) return `${s.toFixed(1)}s`;
  const m = Math.floor(s / 60);
  return `${m}m ${String(Math.round(s % 60)).padStart(2, '0')}s`;
}

/** A task's state from its progress, RAGFlow's way. */
export function taskState(t: Pick<TaskRow, 'progress'>): 'failed' | 'done' | 'queued' | 'running' {
  if (t.progress < 0) return 'failed';
  if (t.progress >= 1) return 'done';
  return t.progress === 0 ? 'queued' : 'running';
}

/** Tasks a heartbeat lists as in flight: entries of `current` that are task records. */
export function inFlightTasks(current: Record<string, unknown> | undefined): string[] {
  return Object.entries(current ?? {})
    .filter(([, v]) => typeof v === 'object' && v !== null && 'task_id' in v)
    .map(([k]) => k);
}

/** Stage names present in a history, in first-seen order. */
export function stagesOf(history: readonly StageSample[]): string[] {
  const names: string[] = [];
  for (const s of history) for (const k of Object.keys(s.stages)) if (!names.includes(k)) names.push(k);
  return names;
}

/**
 * Column data for a uPlot chart: x = unix seconds, one series per stage with `field` (null where a
 * sample lacks the stage, so the line breaks instead of lying).
 */
export function seriesOf(
  history: readonly StageSample[],
  stages: readonly string[],
  field: 'pending' | 'ackPending' | 'redelivered' | 'throughput',
): [number[], ...(number | null)[][]] {
  const xs = history.map((s) => s.at / 1000);
  const ys = stages.map((stage) => history.map((s) => s.stages[stage]?.[field] ?? null));
  return [xs, ...ys];
}

/** The last line of a task log, without its clock prefix. */
export function lastLine(msg: string): string {
  const lines = msg.split('\n').filter((l) => l.trim());
  return (lines[lines.length - 1] ?? '').replace(/^\d\d:\d\d:\d\d\s+/, '');
}
