import { CommonEnv, env, loadConfig, z } from '@ragline/config';

export const BridgeEnv = CommonEnv.extend({
  /** `current` reads te.1.common/te.0.common (RAGFlow v0.26+), `legacy` rag_flow_svr_queue_1/rag_flow_svr_queue */
  RAGFLOW_QUEUE_NAMING: z.enum(['current', 'legacy']).default('current'),
  /** explicit comma-separated stream list, highest priority first; overrides RAGFLOW_QUEUE_NAMING */
  RAGFLOW_QUEUES: env.optional(z.string().regex(/^[^,\s]+(,[^,\s]+)*$/, 'must be a comma-separated list of stream names')),
  BRIDGE_CLAIM_IDLE_MS: env.int(1000).default(300_000),
  BRIDGE_BATCH: env.int(1, 1000).default(16),
  BRIDGE_BLOCK_MS: env.int(10, 60_000).default(2000),
  /** forward task types Ragline does not run (raptor, graphrag...) to this stream for a RAGFlow executor */
  BRIDGE_FORWARD_STREAM: env.optional(z.string()),
});
export type BridgeEnv = z.infer<typeof BridgeEnv>;

export const loadEnv = () => loadConfig(BridgeEnv);
