import { tokenize } from '@ragline/rag-tokenizer';
import { isErrorAnswer, stripThinking } from '../answer.js';
import { fitPrompt, keywordsPrompt } from '../prompts.js';
import { cachedStep, chatFailureIsChunkLevel, type EnrichChunk, type FeatureContext } from './context.js';

/** RAGFlow's keyword separators: ASCII and full-width commas and semicolons, the enumeration comma, line breaks. */
const KEYWORD_SPLIT = /[,，;；、\r\n]+/;

/** RAGFlow's important_kwd from a keywords answer: split on its separators, blank pieces dropped (the others kept as they are). */
export function parseKeywords(answer: string): string[] {
  return answer.split(KEYWORD_SPLIT).filter((k) => k.trim().length > 0);
}

/**
 * A chat answer as RAGFlow's keyword_extraction / question_proposal return it: up to the last
 * </think> removed, and "" for an error answer (or a refusal of this chunk's request).
 */
export async function plainAnswer(ctx: FeatureContext, system: string, content: string): Promise<string> {
  const prompt = fitPrompt(system, content, ctx.chat.model.maxInputTokens);
  let answer: string;
  try {
    answer = await ctx.chat.model.chat({ ...prompt, genConf: { temperature: 0.2 }, signal: ctx.signal });
  } catch (err) {
    if (!chatFailureIsChunkLevel(err)) throw err;
    ctx.logger?.warn({ err: (err as Error).message }, 'chat request refused for a chunk; its field is left out');
    return '';
  }
  answer = stripThinking(answer);
  return isErrorAnswer(answer) ? '' : answer;
}

/** auto_keywords: important_kwd and important_tks, cached under (llm_name, content, "keywords", {"topn": n}). */
export async function extractKeywords(ctx: FeatureContext, chunk: EnrichChunk, topn: number): Promise<void> {
  const text = chunk.content_with_weight;
  const answer = await cachedStep(ctx, 'keywords', { text, history: 'keywords', genConf: { topn } }, () => plainAnswer(ctx, keywordsPrompt(topn), text));
  if (!answer) return;
  chunk.important_kwd = parseKeywords(answer);
  chunk.important_tks = tokenize(chunk.important_kwd.join(' '));
}
