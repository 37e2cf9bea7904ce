/**
 * Output formatters (DeepFabric 2.x): each turns one record into the shape a trainer expects. A
 * named format never drops data silently: every text of the record (messages, tool calls, tools,
 * reasoning, answers, metadata) must survive into the output, or the format refuses the record,
 * naming the fields it would lose and the formats that carry them.
 */
import { ConfigurationError, DataSetGeneratorError } from '../errors';
import type { ConversationType } from '../config/run-input';

type Rec = Record<string, unknown>;
type Msg = { role: string; content: string; tool_calls?: unknown; tool_call_id?: string };

/** A user-defined formatter: one record in, one record out. */
export type Formatter = (record: Rec) => Rec;

function messagesOf(r: Rec): Msg[] {
  if (Array.isArray(r.messages)) return r.messages as Msg[];
  if (typeof r.question === 'string') {
    return [
      { role: 'user', content: r.question },
      { role: 'assistant', content: `${String(r.chain_of_thought ?? '')}\n\n${String(r.final_answer ?? '')}`.trim() },
    ];
  }
  throw new DataSetGeneratorError('record has neither messages nor question: cannot format it', 'format_error');
}

/** A messages record's fields other than its messages (a question-form record folds them into the messages). */
function extrasOf(r: Rec): Rec {
  if (!Array.isArray(r.messages)) return {};
  const rest = { ...r };
  delete rest.messages;
  return rest;
}

type Step = { step_number: number; thought: string; action?: string | null };
const stepsText = (steps: Step[]) => steps.map((s) => `${s.step_number}. ${s.thought}${s.action ? ` (${s.action})` : ''}`).join('\n');

function reasoningOf(r: Rec): string | undefined {
  if (typeof r.chain_of_thought === 'string') return r.chain_of_thought;
  // DeepFabric 4.x: reasoning {style, content}, the content a text or a list of steps.
  const reasoning = r.reasoning as { content?: unknown } | undefined;
  if (reasoning && typeof reasoning.content === 'string') return reasoning.content;
  if (reasoning && Array.isArray(reasoning.content)) return stepsText(reasoning.content as Step[]);
  if (Array.isArray(r.reasoning_trace)) return stepsText(r.reasoning_trace as Step[]);
  if (typeof r.reasoning_trace === 'string') return r.reasoning_trace;
  return undefined;
}

function finalAnswerOf(r: Rec, msgs: Msg[]): string {
  if (typeof r.final_answer === 'string') return r.final_answer;
  return [...msgs].reverse().find((m) => m.role === 'assistant')?.content ?? '';
}

export const FORMATTERS: Record<string, Formatter> = {
  // OpenAI's fine-tuning chat format: messages, and the record's other fields (tools, reasoning, metadata) beside them.
  chatml: (r) => ({ ...extrasOf(r), messages: messagesOf(r) }),
  chatml_text: (r) => ({
    text:
      messagesOf(r)
        .map((m) => `<|im_start|>${m.role}\n${m.content}<|im_end|>`)
        .join('\n') + '\n',
  }),
  alpaca: (r) => {
    const msgs = messagesOf(r);
    const system = msgs
      .filter((m) => m.role === 'system')
      .map((m) => m.content)
      .join('\n');
    const user = msgs.find((m) => m.role === 'user')?.content ?? '';
    const answer = [...msgs].reverse().find((m) => m.role === 'assistant')?.content ?? '';
    return { instruction: system ? `${system}\n\n${user}` : user, input: '', output: answer };
  },
  sharegpt: (r) => ({
    conversations: messagesOf(r).map((m) => ({
      from: m.role === 'user' ? 'human' : m.role === 'assistant' ? 'gpt' : m.role,
      value: m.content,
    })),
  }),
  trl: (r) => ({ ...extrasOf(r), messages: messagesOf(r), tools: Array.isArray(r.tools) ? r.tools : [] }),
  grpo: (r) => {
    const msgs = messagesOf(r);
    const reasoning = reasoningOf(r);
    if (reasoning === undefined) {
      throw new FormatLossError(
        'grpo',
        ['reasoning (none: grpo wraps reasoning and answer in its markers; this record has no chain_of_thought or reasoning_trace)'],
        ['chatml', 'trl'],
      );
    }
    const answer = finalAnswerOf(r, msgs);
    const prompt = msgs.filter((m) => m.role !== 'assistant');
    return {
      messages: [...prompt, { role: 'assistant', content: `<start_working_out>${reasoning}<end_working_out><SOLUTION>${answer}</SOLUTION>` }],
    };
  },
  harmony: (r) => {
    const msgs = messagesOf(r);
    const reasoning = reasoningOf(r);
    const parts = msgs.map((m) => {
      if (m.role === 'assistant') {
        const analysis =
          reasoning && m === [...msgs].reverse().find((x) => x.role === 'assistant')
            ? `<|start|>assistant<|channel|>analysis<|message|>${reasoning}<|end|>`
            : '';
        return `${analysis}<|start|>assistant<|channel|>final<|message|>${m.content}<|end|>`;
      }
      return `<|start|>${m.role}<|message|>${m.content}<|end|>`;
    });
    return { text: parts.join('') };
  },
};
FORMATTERS.conversations = FORMATTERS.sharegpt!;

/** A format that cannot carry some fields of a record. */
export class FormatLossError extends ConfigurationError {
  constructor(
    readonly format: string,
    readonly fields: string[],
    readonly carriers: string[],
  ) {
    super(
      `format "${format}" cannot carry ${fields.join(', ')} of these records, and would drop ${fields.length > 1 ? 'them' : 'it'}; ` +
        (carriers.length
          ? `formats that carry every field: ${carriers.join(', ')}`
          : 'no named format carries every field; write the records as they are (no format)'),
      fields.map((f) => `${format}: cannot carry ${f}`),
    );
    this.name = 'FormatLossError';
  }
}

/** Keys whose values are structure, not content (kept or rebuilt by every format that keeps their parent). */
const STRUCTURAL = new Set(['role', 'type', 'id', 'tool_call_id', 'from']);

/**
 * Fields that label a record rather than hold its content: DeepFabric 4.13's bookkeeping (the topic's
 * id, the conversation type, the agent's mode) and the reasoning's style. A format that leaves them
 * out drops no training data, so the loss check does not count them.
 */
const LABELS = new Set(['metadata.topic_id', 'metadata.conversation_type', 'agent_context.mode', 'reasoning.style']);

/** The record's content texts, with their field paths (array indices as `[]`). */
function texts(value: unknown, at: string, out: [string, string][]): [string, string][] {
  if (LABELS.has(at)) return out;
  if (typeof value === 'string') {
    if (value.trim()) out.push([at, value]);
  } else if (Array.isArray(value)) {
    for (const v of value) texts(v, `${at}[]`, out);
  } else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) if (!STRUCTURAL.has(k)) texts(v, at ? `${at}.${k}` : k, out);
  }
  return out;
}

/** The fields of `record` whose text does not appear in `output` (as JSON, so escaping matches). */
function lostFields(record: Rec, output: Rec): string[] {
  const json = JSON.stringify(output);
  const lost = new Set<string>();
  for (const [field, text] of texts(record, '', [])) if (!json.includes(JSON.stringify(text).slice(1, -1))) lost.add(field);
  return [...lost];
}

/** Named formats that carry every field of `record`. */
function carriersOf(record: Rec): string[] {
  return Object.entries(FORMATTERS)
    .filter(([, f]) => {
      try {
        return lostFields(record, f(record)).length === 0;
      } catch {
        return false;
      }
    })
    .map(([name]) => name);
}

/**
 * Applies a named formatter or a function; an unknown name lists the known ones. A named format
 * that would drop a field of the record refuses it (`FormatLossError`); a function is the caller's.
 */
export function applyFormatter(format: string | Formatter, record: Rec): Rec {
  if (typeof format === 'function') return format(record);
  const f = FORMATTERS[format];
  if (!f) throw new ConfigurationError(`unknown format "${format}"; known formats: ${Object.keys(FORMATTERS).join(', ')}`);
  const out = f(record);
  const lost = lostFields(record, out);
  if (lost.length) throw new FormatLossError(format, lost, carriersOf(record));
  return out;
}

/** One record of each conversation type, every field filled: what a format is checked against before a run. */
export const SAMPLE_RECORDS: Record<ConversationType, Rec> = {
  basic: {
    messages: [
      { role: 'system', content: 'S1' },
      { role: 'user', content: 'U1' },
      { role: 'assistant', content: 'A1' },
    ],
  },
  structured: {
    messages: [
      { role: 'system', content: 'S1' },
      { role: 'user', content: 'U1' },
      { role: 'assistant', content: 'A1' },
    ],
    reasoning_trace: 'R1',
    metadata: { topic: 'T1', difficulty: 'D1', tags: ['G1'] },
  },
  cot_freetext: { question: 'Q1', chain_of_thought: 'C1', final_answer: 'F1' },
  cot_structured: {
    messages: [
      { role: 'system', content: 'S1' },
      { role: 'user', content: 'U1' },
      { role: 'assistant', content: 'A1' },
    ],
    reasoning_trace: [{ step_number: 1, thought: 'T1', action: 'X1' }],
    final_answer: 'A1',
  },
  tool_calling: {
    messages: [
      { role: 'user', content: 'U1' },
      { role: 'assistant', content: '', tool_calls: [{ id: 'c1', type: 'function', function: { name: 'N1', arguments: '{"k":"V1"}' } }] },
      { role: 'tool', content: 'O1', tool_call_id: 'c1' },
      { role: 'assistant', content: 'A1' },
    ],
    tools: [
      {
        type: 'function',
        function: { name: 'N1', description: 'D1', parameters: { type: 'object', properties: { k: { type: 'string', description: 'P1' } } } },
      },
    ],
  },
  chain_of_thought: {
    messages: [
      { role: 'system', content: 'S1' },
      { role: 'user', content: 'Q1' },
      { role: 'assistant', content: 'A1' },
    ],
    reasoning: { style: 'freetext', content: 'R1' },
    question: 'Q1',
    final_answer: 'F1',
  },
  agent: {
    messages: [
      { role: 'system', content: 'S1' },
      { role: 'user', content: 'U1' },
      { role: 'assistant', content: '', tool_calls: [{ id: 'abcDEF123', type: 'function', function: { name: 'N1', arguments: '{"k":"V1"}' } }] },
      { role: 'tool', content: 'O1', tool_call_id: 'abcDEF123' },
      { role: 'assistant', content: 'A1' },
    ],
    reasoning: { style: 'agent', content: [{ step_number: 1, thought: 'T1', action: 'X1' }] },
    tool_context: { executions: [{ function_name: 'N1', arguments: '{"k":"V1"}', reasoning: 'W1', result: 'O1' }] },
    tools: [
      {
        type: 'function',
        function: { name: 'N1', description: 'D1', parameters: { type: 'object', properties: { k: { type: 'string', description: 'P1' } } } },
      },
    ],
  },
};

/**
 * Checks before a run that `format` can carry every field of `type`'s records, so a run is never
 * paid for and then refused at the end.
 */
export function checkFormat(format: string, type: ConversationType, field = 'output.format'): void {
  if (!FORMATTERS[format]) throw new ConfigurationError(`${field}: unknown format "${format}"; known formats: ${Object.keys(FORMATTERS).join(', ')}`);
  try {
    applyFormatter(format, SAMPLE_RECORDS[type]);
  } catch (err) {
    if (err instanceof FormatLossError) {
      throw new ConfigurationError(`${field}: ${type} records: ${err.message}`, err.issues);
    }
    throw err;
  }
}
