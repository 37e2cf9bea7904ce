import { z } from 'zod';
import type { ConversationType } from '../config/run-input';

/**
 * Record shapes (DeepFabric 2.x conversation types). Each type has two schemas: what the model is
 * asked to fill (strict-mode friendly: every property required, no free-form objects) and the record
 * written to the dataset. `toRecord` turns one into the other and inserts the system message.
 */

const Role = z.enum(['system', 'user', 'assistant', 'tool']);
export const MessageSchema = z.object({ role: Role, content: z.string() });

const ChatTurn = z.object({ role: z.enum(['user', 'assistant']), content: z.string().min(1) });

export const ToolCallSchema = z.object({
  id: z.string().min(1),
  type: z.literal('function'),
  function: z.object({ name: z.string().min(1), arguments: z.string() }),
});

export const ToolSchema = z.object({
  type: z.literal('function'),
  function: z.object({ name: z.string().min(1), description: z.string(), parameters: z.record(z.string(), z.unknown()) }),
});

export const RecordSchemas = {
  basic: z.object({ messages: z.array(MessageSchema).min(2) }),
  structured: z.object({
    messages: z.array(MessageSchema).min(2),
    reasoning_trace: z.string().optional(),
    metadata: z.record(z.string(), z.unknown()).optional(),
  }),
  cot_freetext: z.object({ question: z.string().min(1), chain_of_thought: z.string().min(1), final_answer: z.string().min(1) }),
  cot_structured: z.object({
    messages: z.array(MessageSchema).min(2),
    reasoning_trace: z
      .array(z.object({ step_number: z.number().int(), thought: z.string(), action: z.string() }))
      .min(1),
    final_answer: z.string().min(1),
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
  cot_freetext: RecordSchemas.cot_freetext,
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
          tool_calls: z.array(
            z.object({ id: z.string().min(1), name: z.string().min(1), arguments_json: z.string() }),
          ),
          tool_call_id: z.string(),
        }),
      )
      .min(2),
  }),
} as const;

/** Schema of one example as the model returns it. */
export function llmExampleSchema(type: ConversationType): z.ZodType {
  return LlmSchemas[type];
}

/** Schema of a whole batch answer: exactly `count` examples. */
export function batchSchema(type: ConversationType, count: number): z.ZodType<{ examples: unknown[] }> {
  return z.object({ examples: z.array(LlmSchemas[type]).min(count).max(count) });
}

function parseJsonObject(text: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new Error(`${what} is not valid JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`${what} is not a JSON object`);
  return value as Record<string, unknown>;
}

/**
 * Turns one model-made example into a dataset record: inserts the system message when asked,
 * unpacks JSON-string fields. Throws (with a message fit for the retry prompt) when it cannot.
 */
export function toRecord(
  type: ConversationType,
  raw: unknown,
  opts: { sysMsg: boolean; systemPrompt: string },
): DatasetRecord {
  const parsed = LlmSchemas[type].parse(raw) as Record<string, unknown>;
  const system = opts.sysMsg && opts.systemPrompt ? [{ role: 'system' as const, content: opts.systemPrompt }] : [];
  switch (type) {
    case 'basic':
    case 'structured':
    case 'cot_structured': {
      const messages = [...system, ...(parsed.messages as z.infer<typeof ChatTurn>[])];
      return RecordSchemas[type].parse({ ...parsed, messages });
    }
    case 'cot_freetext':
      return RecordSchemas.cot_freetext.parse(parsed);
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

/** The text a content filter judges: every message's content, or the Q/CoT/answer fields. */
export function recordText(record: DatasetRecord): string {
  const r = record as Record<string, unknown>;
  if (Array.isArray(r.messages)) {
    return (r.messages as { role: string; content: string }[])
      .filter((m) => m.role !== 'system')
      .map((m) => m.content)
      .join('\n');
  }
  return [r.question, r.chain_of_thought, r.final_answer].filter((x) => typeof x === 'string').join('\n');
}
