import { CommonEnv, env, loadConfig, z } from '@ragline/config';
import { RagflowQueueSettings } from '@ragline/redis-queue';

export const BridgeEnv = CommonEnv.extend({
  ...RagflowQueueSettings,
  BRIDGE_CLAIM_IDLE_MS: env.int(1000).default(300_000).describe('a pending entry idle this long is claimed from its (dead) consumer'),
  BRIDGE_BATCH: env.int(1, 1000).default(16).describe('queue entries read per call'),
  BRIDGE_BLOCK_MS: env.int(10, 60_000).default(2000).describe('how long one read blocks waiting for entries'),
  BRIDGE_FORWARD_STREAM: env
    .optional(z.string())
    .describe('forward task types Ragline does not run (raptor, graphrag...) to this stream for a RAGFlow executor instead of failing them'),
});
export type BridgeEnv = z.infer<typeof BridgeEnv>;

export const loadEnv = () => loadConfig(BridgeEnv);
