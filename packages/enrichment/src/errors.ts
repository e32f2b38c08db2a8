import { ModelCallError, type ModelErrorInit } from '@ragline/model-http';

/**
 * A chat call failed. Retryability is a property of the error: 429/5xx/timeouts/network errors are
 * retried inside the client and, once its retries are spent, handed to the stage as retryable
 * (nak, with `retryAfterMs` when the server said); other 4xx are permanent.
 */
export class ChatError extends ModelCallError {
  override readonly name: string = 'ChatError';
  constructor(message: string, init: ModelErrorInit) {
    super(message, init);
  }
}

/** The chat backend's circuit is open: it failed repeatedly and a call waited as long as it may. */
export class ChatCircuitOpenError extends ChatError {
  override readonly name: string = 'ChatCircuitOpenError';
  constructor(message: string, retryAfterMs: number) {
    super(message, { retryable: true, retryAfterMs });
  }
}

/** The task names a chat model (llm_id) no configured backend serves: permanent, never another model. */
export class UnknownChatModelError extends Error {
  override readonly name = 'UnknownChatModelError';
  readonly retryable = false;
  constructor(
    readonly llmId: string,
    known: string[],
  ) {
    super(
      `no chat backend serves llm_id "${llmId}": configure it in CHAT_BACKENDS or set CHAT_MODEL to its model name` +
        (known.length ? ` (configured: ${known.join(', ')})` : ' (no chat backend is configured)'),
    );
  }
}

/**
 * The task was cancelled (RAGFlow's `{task_id}-cancel` flag) between two LLM calls. Not retryable:
 * the stage drops the batch and reports the cancellation, as for a cancel seen before the batch.
 */
export class EnrichmentCancelledError extends Error {
  override readonly name = 'EnrichmentCancelledError';
  readonly retryable = false;
  readonly cancelled = true;
  constructor(readonly taskId: string) {
    super(`task ${taskId} was cancelled during enrichment`);
  }
}
