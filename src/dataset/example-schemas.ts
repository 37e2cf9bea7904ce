import { z } from 'zod';
import type { ConversationType } from '../config/run-input';
import { ValidationError } from '../errors';
import { topicId } from '../topics/deepfabric-ids';

/**
 * Record shapes: DeepFabric 2.x's conversation types, and DeepFabric 4.x's `Conversation` for
 * `chain_of_thought` and `agent` (mirroring its pydantic models: 9-character tool call ids, tool
 * arguments as JSON strings, `reasoning {style, content}`, `tool_context.executions`). Each type has two schemas: what the model is
 * asked to fill (strict-mode friendly: every property required, no free-form objects) and the record
 * written to the dataset. `toRecord` turns one into the other and inserts the system message.
 */

const Role = z.enum(['system', 'user', 'assistant', 'tool']);
const MessageSchema = z.object({ role: Role, content: z.string() });

const ChatTurn = z.object({ role: z.enum(['user', 'assistant']), content: z.string().min(1) });

const ToolCallSchema = z.object({
  id: z.string().min(1),
  type: z.literal('function'),
  function: z.object({ name: z.string().min(1), arguments: z.string() }),
});

const ToolSchema = z.object({
  type: z.literal('function'),
  function: z.object({ name: z.string().min(1), description: z.string(), parameters: z.record(z.string(), z.unknown()) }),
});

/** DeepFabric 4.x: a tool call id is exactly 9 letters or digits. */
const ToolCallId = z.string().regex(/^[a-zA-Z0-9]{9}$/, 'a tool call id is 9 letters or digits');
const JsonObjectString = z.string().refine((s) => {
  try {
    const v: unknown = JSON.parse(s);
    return typeof v === 'object' && v !== null && !Array.isArray(v);
  } catch {
    return false;
  }
}, 'a JSON object as a string');

/** DeepFabric 4.x's `ChatMessage`. */
const ConversationMessage = z
  .object({
    role: Role,
    content: z.string().optional(),
    tool_calls: z
      .array(
        z
          .object({ id: ToolCallId, type: z.literal('function'), function: z.object({ name: z.string().min(1), arguments: JsonObjectString }).strict() })
          .strict(),
      )
      .optional(),
    tool_call_id: ToolCallId.optional(),
  })
  .strict();
const ReasoningStep4 = z.object({ step_number: z.number().int(), thought: z.string(), action: z.string().nullable().optional() }).strict();
/** DeepFabric 4.x's `ToolExecution`: what was called, why, and what the execution returned. */
const ToolExecutionSchema = z
  .object({ function_name: z.string().min(1), arguments: JsonObjectString, reasoning: z.string().min(1), result: z.string().min(1) })
  .strict();

/** DeepFabric 4.x's `Conversation` (fields that are None are left out of the JSON). */
const ConversationSchema = z
  .object({
    messages: z.array(ConversationMessage).min(1),
    metadata: z.record(z.string(), z.unknown()).optional(),
    reasoning: z
      .object({ style: z.enum(['freetext', 'agent']), content: z.union([z.string(), z.array(ReasoningStep4)]) })
      .strict()
      .optional(),
    tool_context: z
      .object({ executions: z.array(ToolExecutionSchema) })
      .strict()
      .optional(),
    tools: z.array(ToolSchema).optional(),
    agent_context: z
      .object({ mode: z.enum(['single_turn', 'multi_turn']), planning_trace: z.string().optional(), execution_summary: z.string().optional() })
      .strict()
      .optional(),
    structured_data: z.record(z.string(), z.unknown()).optional(),
    question: z.string().optional(),
    final_answer: z.string().optional(),
  })
  .strict();

/** DeepFabric 4.13 writes `metadata.topic_id` on every record (its topic's id: see `topicId`). */
const Metadata = z.record(z.string(), z.unknown()).optional();

export const RecordSchemas = {
  /** DeepFabric 4.13's basic conversation: the messages, and the question and answer beside them. */
  basic: z.object({ messages: z.array(MessageSchema).min(2), question: z.string().optional(), final_answer: z.string().optional(), metadata: Metadata }),
  structured: z.object({
    messages: z.array(MessageSchema).min(2),
    reasoning_trace: z.string().optional(),
    metadata: z.record(z.string(), z.unknown()).optional(),
  }),
  cot_freetext: z.object({ question: z.string().min(1), chain_of_thought: z.string().min(1), final_answer: z.string().min(1), metadata: Metadata }),
  cot_structured: z.object({
    messages: z.array(MessageSchema).min(2),
    reasoning_trace: z.array(z.object({ step_number: z.number().int(), thought: z.string(), action: z.string() })).min(1),
    final_answer: z.string().min(1),
    metadata: Metadata,
  }),
  tool_calling: z.object({
    messages: z
      .array(
        z.object({
          role: Role,
          content: z.string(),
          tool_calls: z.array(ToolCallSchema).optional(),
          tool_call_id: z.string().optional(),
        }),
      )
      .min(2),
    tools: z.array(ToolSchema).min(1),
    metadata: Metadata,
  }),
  chain_of_thought: ConversationSchema.extend({
    reasoning: z.object({ style: z.literal('freetext'), content: z.string().min(1) }).strict(),
    question: z.string().min(1),
    final_answer: z.string().min(1),
  }),
  agent: ConversationSchema.extend({
    reasoning: z.object({ style: z.literal('agent'), content: z.array(ReasoningStep4).min(1) }).strict(),
  }),
} as const;

export type DatasetRecord = z.infer<(typeof RecordSchemas)[ConversationType]>;

const LlmSchemas = {
  basic: z.object({ messages: z.array(ChatTurn).min(2) }),
  structured: z.object({
    messages: z.array(ChatTurn).min(2),
    reasoning_trace: z.string(),
    metadata: z.object({ topic: z.string(), difficulty: z.string(), tags: z.array(z.string()) }),
  }),
  cot_freetext: z.object({ question: z.string().min(1), chain_of_thought: z.string().min(1), final_answer: z.string().min(1) }),
  cot_structured: z.object({
    messages: z.array(ChatTurn).min(2),
    reasoning_trace: z.array(z.object({ step_number: z.number().int(), thought: z.string(), action: z.string() })).min(1),
    final_answer: z.string().min(1),
  }),
  tool_calling: z.object({
    tools: z
      .array(
        z.object({
          name: z.string().min(1),
          description: z.string(),
          /** JSON schema of the arguments, as a JSON string (strict mode cannot express free-form objects). */
          parameters_json: z.string(),
        }),
      )
      .min(1),
    messages: z
      .array(
        z.object({
          role: z.enum(['user', 'assistant', 'tool']),
          content: z.string(),
          tool_calls: z.array(z.object({ id: z.string().min(1), name: z.string().min(1), arguments_json: z.string() })),
          tool_call_id: z.string(),
        }),
      )
      .min(2),
  }),
  chain_of_thought: z.object({
    question: z.string().min(1),
    reasoning: z.string().min(1),
    /** The assistant's reply to the question (the reasoning stays out of it). */
    answer: z.string().min(1),
    final_answer: z.string().min(1),
  }),
  /** An agent example without tools: the reasoning steps and the answer (with tools, see src/activities/agent-loop.ts). */
  agent: z.object({
    question: z.string().min(1),
    steps: z.array(z.object({ thought: z.string().min(1), action: z.string() })).min(1),
    answer: z.string().min(1),
  }),
} as const;

/** Schema of a whole batch answer: exactly `count` examples. */
export function batchSchema(type: ConversationType, count: number): z.ZodType<{ examples: unknown[] }> {
  return z.object({ examples: z.array(LlmSchemas[type]).min(count).max(count) });
}

function parseJsonObject(text: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ValidationError(`${what} is not valid JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ValidationError(`${what} is not a JSON object`);
  return value as Record<string, unknown>;
}

/**
 * Turns one model-made example into a dataset record: inserts the system message when asked,
 * unpacks JSON-string fields. Throws (with a message fit for the retry prompt) when it cannot.
 */
export function toRecord(type: ConversationType, raw: unknown, opts: { sysMsg: boolean; systemPrompt: string }): DatasetRecord {
  const parsed = LlmSchemas[type].parse(raw) as Record<string, unknown>;
  const system = opts.sysMsg && opts.systemPrompt ? [{ role: 'system' as const, content: opts.systemPrompt }] : [];
  switch (type) {
    case 'basic': {
      const turns = parsed.messages as z.infer<typeof ChatTurn>[];
      return RecordSchemas.basic.parse({
        messages: [...system, ...turns],
        question: turns.find((m) => m.role === 'user')?.content ?? '',
        final_answer: [...turns].reverse().find((m) => m.role === 'assistant')?.content ?? '',
      });
    }
    case 'structured':
    case 'cot_structured': {
      const messages = [...system, ...(parsed.messages as z.infer<typeof ChatTurn>[])];
      return RecordSchemas[type].parse({ ...parsed, messages });
    }
    case 'cot_freetext':
      return RecordSchemas.cot_freetext.parse(parsed);
    case 'chain_of_thought': {
      const p = parsed as z.infer<(typeof LlmSchemas)['chain_of_thought']>;
      return RecordSchemas.chain_of_thought.parse({
        messages: [...system, { role: 'user', content: p.question }, { role: 'assistant', content: p.answer }],
        reasoning: { style: 'freetext', content: p.reasoning },
        question: p.question,
        final_answer: p.final_answer,
      });
    }
    case 'agent': {
      const p = parsed as z.infer<(typeof LlmSchemas)['agent']>;
      return RecordSchemas.agent.parse({
        messages: [...system, { role: 'user', content: p.question }, { role: 'assistant', content: p.answer }],
        reasoning: {
          style: 'agent',
          content: p.steps.map((st, i) => ({ step_number: i + 1, thought: st.thought, ...(st.action ? { action: st.action } : {}) })),
        },
        question: p.question,
        final_answer: p.answer,
      });
    }
    case 'tool_calling': {
      const p = parsed as z.infer<(typeof LlmSchemas)['tool_calling']>;
      const tools = p.tools.map((t) => ({
        type: 'function' as const,
        function: { name: t.name, description: t.description, parameters: parseJsonObject(t.parameters_json, `parameters_json of tool ${t.name}`) },
      }));
      const messages = p.messages.map((m) => {
        const out: Record<string, unknown> = { role: m.role, content: m.content };
        if (m.tool_calls.length > 0) {
          out.tool_calls = m.tool_calls.map((c) => {
            parseJsonObject(c.arguments_json, `arguments_json of call ${c.id}`);
            return { id: c.id, type: 'function', function: { name: c.name, arguments: c.arguments_json } };
          });
        }
        if (m.role === 'tool') out.tool_call_id = m.tool_call_id;
        return out;
      });
      return RecordSchemas.tool_calling.parse({ messages: [...system, ...messages], tools });
    }
  }
}

/**
 * DeepFabric 4.13's `metadata.topic_id` added to a record that has a topic: the topic's own id (a
 * graph node's uuid) when it has one, else the path's id as DeepFabric's tree computes it; a record's
 * own metadata (structured) is kept beside it.
 */
export function withTopicId(record: DatasetRecord, path: string[], id?: string): DatasetRecord {
  if (path.length === 0 && !id) return record;
  const r = record as Record<string, unknown>;
  return { ...r, metadata: { ...((r.metadata as Record<string, unknown> | undefined) ?? {}), topic_id: id ?? topicId(path) } } as unknown as DatasetRecord;
}

/** The text a content filter judges: every message's content, or the Q/CoT/answer fields. */
export function recordText(record: DatasetRecord): string {
  const r = record as Record<string, unknown>;
  if (Array.isArray(r.messages)) {
    return (r.messages as { role: string; content?: string }[])
      .filter((m) => m.role !== 'system' && m.content)
      .map((m) => m.content)
      .join('\n');
  }
  if (['question', 'chain_of_thought', 'final_answer'].some((k) => typeof r[k] === 'string'))
    return [r.question, r.chain_of_thought, r.final_answer].filter((x) => typeof x === 'string').join('\n');
  // A custom record (generation.output_schema): every text in it.
  return stringsIn(r).join('\n');
}

/** Every string inside a value (objects' values and arrays' items, depth first). */
export function stringsIn(value: unknown, out: string[] = []): string[] {
  if (typeof value === 'string') out.push(value);
  else if (Array.isArray(value)) for (const v of value) stringsIn(v, out);
  else if (value && typeof value === 'object') for (const v of Object.values(value)) stringsIn(v, out);
  return out;
}
