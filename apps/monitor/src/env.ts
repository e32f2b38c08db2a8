import { CommonEnv, MonitorAddressSettings, env, loadConfig, z } from '@ragline/config';
import { RagflowQueueSettings } from '@ragline/redis-queue';

export const MonitorEnv = CommonEnv.extend({
  ...MonitorAddressSettings,
  ...RagflowQueueSettings,
  MONITOR_TOKEN: env
    .optional(z.string().min(16, 'must be at least 16 characters'))
    .describe(
      "when set (16+ chars), `/api/*`, `/metrics` and the page need `Authorization: Bearer <token>`; open the page once as `/?token=<token>` (kept in the tab's sessionStorage)",
    ),
  GRAFANA_URL: env.optional(env.url(['http', 'https'])).describe("task details and the dashboard link each task's trace in Grafana Explore"),
  GRAFANA_TEMPO_UID: z.string().default('tempo').describe("uid of Grafana's Tempo data source, for trace links"),
  STUCK_TASK_MS: env
    .int(1000)
    .default(30 * 60_000)
    .describe(
      "a task with no progress this long that no stage holds (no unacked queue entry, no message in a work stream) is re-enqueued to RAGFlow's queue; keep it above `NATS_DUPLICATE_WINDOW_MS`",
    ),
  STUCK_CHECK_MS: env.int(100).default(60_000).describe('how often the stuck-task pass runs'),
  STUCK_MAX_RETRIES: env.int(1, 100).default(3).describe('deliveries after which a stuck task is failed with a reason instead of re-enqueued (RAGFlow: 3)'),
  MONITOR_SAMPLE_MS: env.int(100).default(5000).describe('how often stage lags and throughput are sampled for charts and gauges'),
  MONITOR_SYNC_MS: env
    .int(100)
    .default(6000)
    .describe(
      "how often unfinished documents are re-synced (RAGFlow's `update_progress`: 6 s), which writes \"N tasks are ahead in the queue...\" (cancelled entries not counted)",
    ),
  MONITOR_DASHBOARD_DIR: env.optional(z.string()).describe('built dashboard the monitor serves; unset: `packages/dashboard/dist`'),
});
export type MonitorEnv = z.infer<typeof MonitorEnv>;
export const loadEnv = () => loadConfig(MonitorEnv);
