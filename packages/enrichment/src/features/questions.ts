import { tokenize } from '@ragline/rag-tokenizer';
import { questionsPrompt } from '../prompts.js';
import { cachedStep, type EnrichChunk, type FeatureContext } from './context.js';
import { plainAnswer } from './keywords.js';

/** RAGFlow's question_kwd: the answer's lines, as they are (`cached.split("\n")`). */
export function parseQuestions(answer: string): string[] {
  return answer.split('\n');
}

/** auto_questions: question_kwd and question_tks, cached under (llm_name, content, "question", {"topn": n}). */
export async function proposeQuestions(ctx: FeatureContext, chunk: EnrichChunk, topn: number): Promise<void> {
  const text = chunk.content_with_weight;
  const answer = await cachedStep(ctx, 'questions', { text, history: 'question', genConf: { topn } }, () => plainAnswer(ctx, questionsPrompt(topn), text));
  if (!answer) return;
  const questions = parseQuestions(answer);
  chunk.question_kwd = questions;
  chunk.question_tks = tokenize(questions.join('\n'));
}
