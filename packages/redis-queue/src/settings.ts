import { env, z, type Settings } from '@ragline/config';

/** Which RAGFlow task queues (Redis streams) to read: the bridge consumes them, the monitor and the CLI watch and refill them. */
export const RagflowQueueSettings = {
  RAGFLOW_QUEUE_NAMING: z
    .enum(['current', 'legacy'])
    .default('current')
    .describe('`current` = `te.1.common`, `te.0.common` (RAGFlow ≥ 0.26); `legacy` = `rag_flow_svr_queue_1`, `rag_flow_svr_queue`'),
  RAGFLOW_QUEUES: env
    .optional(z.string().regex(/^[^,\s]+(,[^,\s]+)*$/, 'must be a comma-separated list of stream names'))
    .describe('explicit comma-separated stream list, highest priority first; overrides `RAGFLOW_QUEUE_NAMING`'),
};
export type RagflowQueueSettings = Settings<typeof RagflowQueueSettings>;
