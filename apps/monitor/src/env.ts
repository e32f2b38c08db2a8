import { CommonEnv, env, loadConfig, z } from '@ragline/config';

export const MonitorEnv = CommonEnv.extend({
  MONITOR_PORT: env.int(0, 65535).default(8700),
  /** loopback unless told otherwise: the API shows task details */
  MONITOR_HOST: z.string().default('127.0.0.1'),
  MONITOR_TOKEN: env.optional(z.string().min(16, 'must be at least 16 characters')),
  GRAFANA_URL: env.optional(env.url(['http', 'https'])),
  /** a worker silent this long is removed from the registry (RAGFlow: 120 s) */
  WORKER_TIMEOUT_MS: env.int(1000).default(120_000),
  RAGFLOW_QUEUE_NAMING: z.enum(['current', 'legacy']).default('current'),
  RAGFLOW_QUEUES: env.optional(z.string()),
});
export const loadEnv = () => loadConfig(MonitorEnv);
