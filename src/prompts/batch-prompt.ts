import type { ConversationType, GenerationSettings } from '../config/run-input';
import { renderTemplate } from './template';

const TYPE_DESCRIPTIONS: Record<ConversationType, string> = {
  basic: 'conversation (a user message followed by a helpful assistant answer, more turns allowed)',
  structured: 'conversation with a short reasoning trace and metadata (topic, difficulty, tags)',
  cot_freetext: 'chain-of-thought problem (a question, free-text step-by-step reasoning, and a final answer)',
  cot_structured: 'conversation with numbered reasoning steps (thought and action each) and a final answer',
  tool_calling:
    'tool-calling conversation (define the tools with JSON-schema parameters; the assistant calls them with JSON arguments, tool messages answer with tool_call_id, then the assistant answers)',
  chain_of_thought:
    "chain-of-thought example (a user question, free-text step-by-step reasoning, the assistant's reply to the user, and the short final answer)",
  agent: 'agent reasoning example (a user request, the numbered reasoning steps an agent takes, each with its thought and action, and the answer to the user)',
};

/**
 * The user prompt of one batch call: the instructions, one rendered template per example,
 * optional few-shot examples, and the previous attempt's validation error, if any.
 */
export function renderBatchPrompt(settings: GenerationSettings, topicPaths: string[][], previousError?: string): string {
  const examples = settings.fewShot.length ? settings.fewShot.join('\n') : '(none)';
  const items = topicPaths.map((path, i) => `Example ${i + 1}: ${renderTemplate(settings.template, { path, examples }, settings.templateVars)}`);
  const parts = [
    settings.instructions.trim(),
    settings.outputSchema
      ? `Generate exactly ${topicPaths.length} training records, returned in the "examples" array in the order listed: ` +
        `each one JSON object of the response schema, every field filled in accurately. Make each one distinct.`
      : `Generate exactly ${topicPaths.length} ${TYPE_DESCRIPTIONS[settings.conversationType]} training examples, ` +
        `returned in the "examples" array in the order listed. Make each one distinct.`,
    items.join('\n'),
  ];
  if (settings.fewShot.length && !settings.template.includes('{examples}')) {
    parts.push(`Here are examples of the style wanted:\n${examples}`);
  }
  if (previousError) {
    parts.push(`Your previous answer was rejected: ${previousError}. Return a corrected answer.`);
  }
  return parts.filter(Boolean).join('\n\n');
}
