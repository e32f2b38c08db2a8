import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** The monitor's Prometheus metrics (names documented in README's metrics list via /metrics). */
export interface MonitorMetrics {
  events: Counter<'kind' | 'stage'>;
  tasksCompleted: Counter;
  taskFailures: Counter<'stage' | 'reason'>;
  tasksRequeued: Counter<'reason'>;
  taskDuration: Histogram;
  stagePending: Gauge<'stage'>;
  stageAckPending: Gauge<'stage'>;
  stageRedelivered: Gauge<'stage'>;
  stageThroughput: Gauge<'stage'>;
  queueLength: Gauge<'stream'>;
  queueLag: Gauge<'stream'>;
  workers: Gauge<'stage' | 'state'>;
}

export function createMonitorMetrics(registry: Registry): MonitorMetrics {
  const registers = [registry];
  return {
    events: new Counter({ name: 'ragline_monitor_events_total', help: 'Pipeline events applied to MySQL', labelNames: ['kind', 'stage'], registers }),
    tasksCompleted: new Counter({ name: 'ragline_tasks_completed_total', help: 'Tasks marked done (progress 1)', registers }),
    taskFailures: new Counter({
      name: 'ragline_task_failures_total',
      help: 'Tasks failed, by failing stage and reason (dead_letter, stuck)',
      labelNames: ['stage', 'reason'],
      registers,
    }),
    tasksRequeued: new Counter({
      name: 'ragline_tasks_requeued_total',
      help: "Tasks re-enqueued to RAGFlow's queue because no stage held them",
      labelNames: ['reason'],
      registers,
    }),
    taskDuration: new Histogram({
      name: 'ragline_task_duration_seconds',
      help: 'Task latency from receipt to completion',
      buckets: [0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 10800],
      registers,
    }),
    stagePending: new Gauge({ name: 'ragline_stage_pending', help: 'Messages not yet delivered to the stage (consumer lag)', labelNames: ['stage'], registers }),
    stageAckPending: new Gauge({ name: 'ragline_stage_in_flight', help: 'Messages delivered to the stage and not acked', labelNames: ['stage'], registers }),
    stageRedelivered: new Gauge({ name: 'ragline_stage_redelivered', help: 'Messages redelivered at least once, pending ack', labelNames: ['stage'], registers }),
    stageThroughput: new Gauge({
      name: 'ragline_stage_throughput_per_second',
      help: 'Messages the stage finished per second over the last sample',
      labelNames: ['stage'],
      registers,
    }),
    queueLength: new Gauge({ name: 'ragline_ragflow_queue_length', help: "Entries in RAGFlow's queue stream (XLEN)", labelNames: ['stream'], registers }),
    queueLag: new Gauge({ name: 'ragline_ragflow_queue_lag', help: 'Entries not yet read by the bridge', labelNames: ['stream'], registers }),
    workers: new Gauge({ name: 'ragline_workers', help: 'Registered workers by stage and heartbeat state', labelNames: ['stage', 'state'], registers }),
  };
}
