export interface EmbedResult {
  /** one vector per input text, in input order */
  vectors: Float32Array[];
  /** tokens the backend counted (provider-reported when available) */
  tokens: number;
}

export interface EmbeddingBackend {
  /** backend kind, e.g. 'hashing' or 'openai-compatible' */
  readonly name: string;
  readonly model: string;
  /** longest input in tokens the model accepts; embedTexts truncates to maxTokens - 10 */
  readonly maxTokens: number;
  dimension(): Promise<number>;
  embed(texts: string[], signal?: AbortSignal): Promise<EmbedResult>;
}

/** RAGFlow's Elasticsearch field for a vector of this dimension. */
export function vectorField(dim: number): string {
  if (!Number.isInteger(dim) || dim <= 0) throw new RangeError(`vector dimension must be a positive integer, got ${dim}`);
  return `q_${dim}_vec`;
}
