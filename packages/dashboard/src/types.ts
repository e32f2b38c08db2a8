/** The parts of the monitor's /api/overview answer the page uses (packages/pipeline/src/monitor/server.ts). */
export interface Heartbeat {
  name: string;
  ip_address: string;
  pid: number;
  now: string;
  boot_at: string;
  pending: number;
  lag: number;
  done: number;
  failed: number;
  current: Record<string, unknown>;
  stage?: string;
  version?: string;
  host?: string;
}

export interface Worker {
  name: string;
  alive: boolean;
  lastBeatAt: number | null;
  heartbeat: Heartbeat | null;
}

export interface StageStat {
  stage: string;
  stream: string;
  consumer: string;
  pending?: number;
  ackPending?: number;
  redelivered?: number;
  processed?: number;
  error?: string;
}

export interface QueueStat {
  stream: string;
  length: number;
  pending: number;
  lag: number | null;
}

export interface StageSample {
  at: number;
  stages: Record<string, { pending: number; ackPending: number; redelivered: number; throughput: number }>;
  queues: Record<string, { length: number; lag: number | null }>;
}

export interface TaskRow {
  id: string;
  doc_id: string;
  doc_name: string | null;
  kb_id: string | null;
  progress: number;
  progress_msg: string;
  process_duration: number;
  retry_count: number;
  update_time: number | null;
  trace_id: string | null;
  trace_url: string | null;
  error: string | null;
}

export interface Overview {
  at: number;
  workers: Worker[];
  stages: StageStat[];
  queues: QueueStat[];
  history: StageSample[];
  failed: TaskRow[];
  slowest: TaskRow[];
  recent: TaskRow[];
  grafana: boolean;
}
