import { countTokens, truncateTokens } from '@ragline/tokenizer';

/**
 * Ragline's own prompts. They ask for the output formats RAGFlow's prompts ask for, because the
 * answers are parsed (and cached, shared with RAGFlow) the same way: keywords separated by commas,
 * one question per line, a JSON object of tag -> score, a JSON object of metadata, and the TOC arrays.
 * Instructions are the system message; the chunk text is the user message, cut to the model's
 * prompt budget (RAGFlow's message_fit_in keeps the end of the conversation inside max_length).
 */
export interface Prompt {
  system: string;
  user: string;
}

export function fitPrompt(system: string, content: string, maxInputTokens: number): Prompt {
  const budget = Math.max(16, maxInputTokens - countTokens(system) - 16);
  return { system, user: countTokens(content) > budget ? truncateTokens(content, budget) : content };
}

export function keywordsPrompt(topn: number): string {
  return [
    'You read a passage and name what it is about.',
    `Give the ${topn} most important keywords or key phrases of the passage the user sends.`,
    'Write them in the language of the passage.',
    'Separate them with commas (,) on a single line.',
    'Answer with the keywords and nothing else: no numbering, no explanation.',
  ].join('\n');
}

export function questionsPrompt(topn: number): string {
  return [
    'You read a passage and write the questions it answers.',
    `Write ${topn} questions that the passage the user sends answers, the most important first.`,
    'Each question asks something different; together they cover the main points of the passage.',
    'Write them in the language of the passage.',
    'Put each question on its own line.',
    'Answer with the questions and nothing else: no numbering, no blank lines, no explanation.',
  ].join('\n');
}

export function tagsPrompt(topn: number, tags: string[], examples: Array<{ content: string; tags: Record<string, number> }>): string {
  const lines = [
    'You label passages with tags taken from a fixed tag set.',
    `Choose up to ${topn} tags from the tag set below that fit the passage the user sends best, and score how well each fits from 1 (barely) to 10 (exactly).`,
    'Use only tags from the tag set, spelled exactly as listed.',
    'Answer with one JSON object whose keys are the tags and whose values are the scores, and nothing else.',
    '',
    'Tag set:',
    tags.join(', '),
  ];
  examples.forEach((ex, i) => {
    lines.push('', `Example ${i + 1} passage:`, ex.content, `Example ${i + 1} answer:`, JSON.stringify(ex.tags, null, 2));
  });
  return lines.join('\n');
}

export function metadataPrompt(schema: unknown): string {
  return [
    'You extract document metadata from a passage.',
    'The fields to extract are described by this JSON schema:',
    JSON.stringify(schema, null, 2),
    '',
    'Fill a field only when the passage the user sends states its value explicitly; never guess, infer from the kind of document, or invent.',
    'A field with an "enum" list may only take one of those values (or a direct synonym found in the passage); leave it out otherwise.',
    'Answer with one JSON object holding the fields you found, or {} when none is stated, and nothing else: no Markdown, no notes.',
  ].join('\n');
}

export function tocHeadingsPrompt(): string {
  return [
    'You find the headings in consecutive passages of one document, to build its table of contents.',
    'The user sends a list of JSON objects, each {"<chunk id>": "<passage text>"}, in document order.',
    'For every passage, in order, output the headings it contains (chapter, section or clause titles, numbered or not, usually short lines that introduce the text after them) as {"title": "<heading text without page numbers or dot leaders>", "chunk_id": "<chunk id>"}.',
    'A passage may hold several headings: list them in the order they appear. A passage, or a part of one, without a heading gets {"title": "-1", "chunk_id": "<chunk id>"}.',
    'Narrative sentences, lists and long lines are not headings. When unsure, output "-1".',
    'Keep each title in the language of the passage.',
    'Answer with one JSON array of those objects, in passage order, and nothing else.',
  ].join('\n');
}

export function tocLevelsPrompt(): string {
  return [
    'You give each heading of a table of contents its depth.',
    'The user sends a JSON array of headings in document order.',
    'For each heading, in the same order and without adding, dropping or merging any, output {"level": "<depth>", "title": "<the heading exactly as given>"}, where depth is "1" for top-level headings, "2" for those under them, and so on (a single number, never 1.1).',
    'Headings of the same kind (all chapters, all sections) share a depth.',
    'Answer with one JSON array of those objects and nothing else.',
  ].join('\n');
}
