/**
 * One agent example with tools (DeepFabric 4.x `cot` + `reasoning_style: agent` + `tools`), as a
 * ReAct loop: the model writes the user's request and a first step (a thought and the tool calls for
 * this step only); the worker executes the calls (src/tools/tools.ts) and shows the model the real
 * results; the model takes the next step, until it answers (`is_final`) or `max_agent_steps` is
 * reached and it must answer. Each finished step is checkpointed by the caller, so a retried batch
 * resumes an example at its next step instead of paying for its earlier steps again.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { ModelError } from '../errors';
import { executeTool, toOpenAiTool, ToolCallError, toolSignature, type ToolSession, type ToolsSettings } from '../tools/tools';
import { RecordSchemas, type DatasetRecord } from '../dataset/example-schemas';
import type { AgentProgress, ExecutedCall } from './types';

/** What the model answers at each step (strict-mode friendly: every field present). */
export const AgentStepSchema = z.object({
  /** The user's request (asked for at the first step; ignored after). */
  question: z.string(),
  thought: z.string().min(1),
  tool_calls: z.array(z.object({ function_name: z.string().min(1), arguments_json: z.string(), reasoning: z.string().min(1) })),
  is_final: z.boolean(),
  final_answer: z.string(),
});

export type { AgentProgress, ExecutedCall } from './types';

const clip = (s: string, n: number) => (s.length > n ? `${s.slice(0, n)}… (${s.length - n} more characters)` : s);

/** The prompt of the next step: the topic, the tools, the request, and every step so far with its real results. */
export function agentStepPrompt(opts: {
  instructions: string;
  topicPath: string[];
  tools: ToolsSettings;
  progress: AgentProgress;
  previousError?: string | undefined;
}): string {
  const { progress, tools } = opts;
  const n = progress.steps.length + 1;
  const last = n >= tools.maxAgentSteps;
  const parts = [
    opts.instructions.trim(),
    `Topic: ${opts.topicPath.join(' -> ')}`,
    'You are writing one training example: a user asks an agent for something on this topic that needs the tools below; the agent works step by step (a thought, then the tool calls of this step, whose real results it sees before the next step) and then answers the user.',
    `Tools:\n${tools.tools.map((t) => `- ${toolSignature(t)}`).join('\n')}`,
  ];
  if (progress.question === undefined) parts.push('First write the user\'s request in "question".');
  else parts.push(`The user's request: ${progress.question}`);
  if (progress.steps.length) {
    const lines = progress.steps.map((s, i) => {
      const calls = s.calls.map((c) => `  called ${c.function_name}(${c.arguments}) because ${c.reasoning}\n  result: ${clip(c.result, 2000)}`);
      return [`Step ${i + 1}: ${s.thought}`, ...calls].join('\n');
    });
    parts.push(`Steps so far:\n${lines.join('\n')}`);
  }
  parts.push(
    last
      ? `Step ${n} is the last: set "is_final" to true, no tool calls, and give the answer to the user in "final_answer", based on the results above.`
      : `Give step ${n}: a "thought", then either the "tool_calls" of this step only (at most ${tools.maxPerQuery} in the whole example; "arguments_json" is the arguments as a JSON object) with "is_final" false, or "is_final" true and the answer to the user in "final_answer" once the results are enough. Never invent a tool result.`,
  );
  if (opts.previousError) parts.push(`Your previous answer was rejected: ${opts.previousError}. Return a corrected answer.`);
  return parts.filter(Boolean).join('\n\n');
}

/**
 * Applies one step's answer: checks it, executes its tool calls, and records it in `progress`.
 * A wrong answer (unknown tool, bad arguments, no question, no final answer) is a `validation_error`
 * whose message goes into the retry's prompt.
 */
export async function applyAgentStep(
  answer: unknown,
  progress: AgentProgress,
  tools: ToolsSettings,
  session: ToolSession,
  provider: string,
  signal?: AbortSignal,
): Promise<void> {
  const parsed = AgentStepSchema.safeParse(answer);
  const invalid = (msg: string) => new ModelError(`agent step ${progress.steps.length + 1}: ${msg}`, { category: 'validation_error', provider });
  if (!parsed.success)
    throw invalid(
      parsed.error.issues
        .slice(0, 3)
        .map((i) => `${i.path.join('.')}: ${i.message}`)
        .join('; '),
    );
  const step = parsed.data;
  if (progress.question === undefined) {
    if (!step.question.trim()) throw invalid('"question" is empty: write the user\'s request');
    progress.question = step.question.trim();
  }
  const last = progress.steps.length + 1 >= tools.maxAgentSteps;
  if (step.is_final || last) {
    if (!step.final_answer.trim()) throw invalid('"final_answer" is empty: answer the user');
    progress.final = step.final_answer.trim();
    progress.finalThought = step.thought;
    return;
  }
  const calls: ExecutedCall[] = [];
  for (const c of step.tool_calls) {
    let result: string;
    try {
      result = await executeTool(tools, session, c.function_name, c.arguments_json, signal);
    } catch (err) {
      if (err instanceof ToolCallError) throw invalid(err.message);
      throw err;
    }
    calls.push({ function_name: c.function_name, arguments: JSON.stringify(JSON.parse(c.arguments_json)), reasoning: c.reasoning, result });
  }
  progress.steps.push({ thought: step.thought, calls });
}

/** A tool call id as DeepFabric writes them: 9 letters or digits (here derived from the example, so stable across retries). */
function toolCallId(seed: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  const bytes = createHash('sha256').update(seed).digest();
  return Array.from(bytes.subarray(0, 9), (b) => alphabet[b % alphabet.length]).join('');
}

/**
 * The DeepFabric 4.x record of a finished example: the messages (request, assistant tool calls,
 * tool results, answer), `reasoning` (style agent, one step per step), `tool_context.executions`
 * and the `tools`. More executions than `max_per_query`: undefined when strict (the example is
 * dropped), else the executions past the limit are cut (DeepFabric's `strict`).
 */
export function agentRecord(
  progress: AgentProgress,
  tools: ToolsSettings,
  opts: { sysMsg: boolean; systemPrompt: string; idSeed: string },
): DatasetRecord | undefined {
  const total = progress.steps.reduce((n, s) => n + s.calls.length, 0);
  if (total > tools.maxPerQuery && tools.strict) return undefined;
  let budget = tools.maxPerQuery;
  const messages: Record<string, unknown>[] = opts.sysMsg && opts.systemPrompt ? [{ role: 'system', content: opts.systemPrompt }] : [];
  messages.push({ role: 'user', content: progress.question ?? '' });
  const executions: ExecutedCall[] = [];
  const steps = progress.steps.map((s, i) => {
    const calls = s.calls.slice(0, Math.max(0, budget));
    budget -= calls.length;
    if (calls.length) {
      const ids = calls.map((_, k) => toolCallId(`${opts.idSeed}/${i}/${k}`));
      messages.push({
        role: 'assistant',
        content: '',
        tool_calls: calls.map((c, k) => ({ id: ids[k], type: 'function', function: { name: c.function_name, arguments: c.arguments } })),
      });
      calls.forEach((c, k) => messages.push({ role: 'tool', content: c.result, tool_call_id: ids[k] }));
      executions.push(...calls);
    }
    const action = calls.map((c) => `${c.function_name}(${c.arguments})`).join('; ');
    return { step_number: i + 1, thought: s.thought, ...(action ? { action } : {}) };
  });
  messages.push({ role: 'assistant', content: progress.final ?? '' });
  // DeepFabric's last step: the one that answers, its action "Ready to respond to user".
  if (progress.finalThought) steps.push({ step_number: steps.length + 1, thought: progress.finalThought, action: 'Ready to respond to user' });
  const used = new Set(executions.map((e) => e.function_name));
  const listed = tools.toolInclusion === 'all' || used.size === 0 ? tools.tools : tools.tools.filter((t) => used.has(t.name));
  return RecordSchemas.agent.parse({
    messages,
    reasoning: { style: 'agent', content: steps },
    tool_context: { executions },
    tools: listed.map(toOpenAiTool),
    agent_context: { mode: 'single_turn' },
    question: progress.question ?? '',
    final_answer: progress.final ?? '',
    metadata: { conversation_type: 'cot', react_steps: steps.length },
  });
}
