import { CommonEnv, env, loadConfig, z } from '@ragline/config';

export const MonitorEnv = CommonEnv.extend({
  MONITOR_PORT: env.int(0, 65535).default(8700),
  /** loopback unless told otherwise: the API shows task details */
  MONITOR_HOST: z.string().default('127.0.0.1'),
  MONITOR_TOKEN: env.optional(z.string().min(16, 'must be at least 16 characters')),
  GRAFANA_URL: env.optional(env.url(['http', 'https'])),
  /** uid of Grafana's Tempo data source, for trace links */
  GRAFANA_TEMPO_UID: z.string().default('tempo'),
  /** a worker silent this long is removed from the registry (RAGFlow: 120 s) */
  WORKER_TIMEOUT_MS: env.int(1000).default(120_000),
  /** a task with no progress this long that no stage holds is re-enqueued (keep it above NATS_DUPLICATE_WINDOW_MS) */
  STUCK_TASK_MS: env.int(1000).default(30 * 60_000),
  /** how often the stuck-task pass runs */
  STUCK_CHECK_MS: env.int(100).default(60_000),
  /** deliveries after which a stuck task is failed instead of re-enqueued (RAGFlow: 3) */
  STUCK_MAX_RETRIES: env.int(1, 100).default(3),
  /** how often stage lags and throughput are sampled for charts and gauges */
  MONITOR_SAMPLE_MS: env.int(100).default(5000),
  /** how often unfinished documents are re-synced (RAGFlow's update_progress: 6 s), which writes "N tasks are ahead in the queue..." */
  MONITOR_SYNC_MS: env.int(100).default(6000),
  /** built dashboard; default: packages/dashboard/dist */
  MONITOR_DASHBOARD_DIR: env.optional(z.string()),
  RAGFLOW_QUEUE_NAMING: z.enum(['current', 'legacy']).default('current'),
  RAGFLOW_QUEUES: env.optional(z.string()),
});
export type MonitorEnv = z.infer<typeof MonitorEnv>;
export const loadEnv = () => loadConfig(MonitorEnv);
