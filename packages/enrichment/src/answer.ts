import { jsonrepair } from 'jsonrepair';

/** RAGFlow's error answer marker: LLMBundle returns "**ERROR**: ..." when a call gave up. */
export const ERROR_MARKER = '**ERROR**';

/** The answer after RAGFlow's `re.sub(r"^.*</think>", "", ans, flags=re.DOTALL)`: everything up to the last </think> goes. */
export function stripThinking(answer: string): string {
  const end = answer.lastIndexOf('</think>');
  return end < 0 ? answer : answer.slice(end + '</think>'.length);
}

/** An answer that is an error report rather than an answer (RAGFlow drops it). */
export function isErrorAnswer(answer: string): boolean {
  return answer.includes(ERROR_MARKER);
}

/**
 * JSON from a model answer, leniently, where RAGFlow uses json_repair.loads: code fences dropped,
 * strict JSON first, then jsonrepair of the whole answer, then of the first {...} / [...] span in it
 * (json_repair skips prose around the JSON). Undefined when nothing parses.
 */
export function parseJsonAnswer(answer: string): unknown {
  const text = answer.replace(/```(?:json)?\s*/gi, '').trim();
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    // fall through to repairs
  }
  const candidates = [text];
  const open = text.search(/[[{]/);
  if (open > 0) candidates.push(text.slice(open));
  for (const c of candidates) {
    try {
      return JSON.parse(jsonrepair(c));
    } catch {
      // next candidate
    }
  }
  return undefined;
}
