/**
 * Output formatters: each turns one record into the shape a trainer expects. The names DeepFabric
 * 3.x users know (alpaca, conversations, chatml, chatml_text, harmony, openai, tool_calling,
 * single_tool_call, xlam_v2) write what DeepFabric 3.13's formatters write for the same record
 * (deepfabric3-formats.ts); sharegpt, trl and grpo are this project's own. A named format never
 * drops data silently: every text of the record (messages, tool calls, tools, reasoning, answers,
 * metadata) must survive into the output, or the format refuses the record, naming the fields it
 * would lose and the formats that carry them; the caller may name fields to drop (`drop`).
 */
import { ConfigurationError, DataSetGeneratorError } from '../errors';
import type { ConversationType } from '../config/run-input';
import { stringsIn } from './example-schemas';
import { alpaca, chatml, chatmlText, conversations, harmony, openai, singleToolCall, toolCalling, xlamV2 } from './deepfabric3-formats';

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

/** The answer GRPO rewards: the last assistant message (a 4.x cot record's full answer), else the record's final answer. */
function grpoAnswerOf(r: Rec, msgs: Msg[]): string {
  const last = [...msgs].reverse().find((m) => m.role === 'assistant')?.content;
  if (Array.isArray(r.messages) && last) return last;
  return typeof r.final_answer === 'string' ? r.final_answer : (last ?? '');
}

export const FORMATTERS: Record<string, Formatter> = {
  // DeepFabric 3.13's names and output.
  alpaca,
  chatml,
  chatml_text: chatmlText,
  conversations,
  harmony,
  openai,
  tool_calling: toolCalling,
  single_tool_call: singleToolCall,
  xlam_v2: xlamV2,
  // This project's own: ShareGPT's from/value turns, TRL's messages + tools with every other field beside them, GRPO's markers.
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
      throw new ConfigurationError(
        'format "grpo" needs reasoning (it wraps reasoning and answer in its markers) and these records have none; trl carries every field',
        ['grpo: the records have no reasoning'],
      );
    }
    const answer = grpoAnswerOf(r, msgs);
    const prompt = msgs.filter((m) => m.role !== 'assistant');
    return {
      messages: [...prompt, { role: 'assistant', content: `<start_working_out>${reasoning}<end_working_out><SOLUTION>${answer}</SOLUTION>` }],
    };
  },
};

/** The shortest `drop` names covering `fields`: `system` for the system message, `reasoning` for reasoning in any form. */
function dropNames(fields: string[]): string[] {
  const names = fields.map((f) => (f.startsWith('messages[system]') ? 'system' : /^(reasoning|reasoning_trace|chain_of_thought)\b/.test(f) ? 'reasoning' : f));
  return [...new Set(names)];
}

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
          : 'no named format carries every field; write the records as they are (no format)') +
        `; or name what may go: --drop ${dropNames(fields).join(',')} (output.drop in the config)`,
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

/**
 * The record's content texts, with their field paths: array items as `[]`, a message (or any item
 * with a role) as `[role]`, e.g. `messages[system].content`. A text that is itself JSON (a tool
 * call's arguments) counts by the texts inside it, so a format that rewrites the JSON keeps them.
 */
function texts(value: unknown, at: string, out: [string, string][]): [string, string][] {
  if (LABELS.has(at)) return out;
  if (typeof value === 'string') {
    const json = embeddedJson(value);
    if (json !== undefined) texts(json, at, out);
    else if (value.trim()) out.push([at, value]);
  } else if (Array.isArray(value)) {
    for (const v of value) {
      const role = v && typeof v === 'object' && typeof (v as Rec).role === 'string' ? (v as Rec).role : '';
      texts(v, `${at}[${role as string}]`, out);
    }
  } else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) if (!STRUCTURAL.has(k)) texts(v, at ? `${at}.${k}` : k, out);
  }
  return out;
}

function embeddedJson(text: string): object | undefined {
  const t = text.trim();
  if (!(t.startsWith('{') && t.endsWith('}')) && !(t.startsWith('[') && t.endsWith(']'))) return undefined;
  try {
    const v: unknown = JSON.parse(t);
    return v && typeof v === 'object' ? v : undefined;
  } catch {
    return undefined;
  }
}

const squash = (s: string) => s.replace(/\s+/gu, ' ').trim();

/**
 * Every text of a formatted record, whitespace runs as one space (formats reflow reasoning), once
 * as written and once with JSON escapes undone (formats write tool calls as JSON inside a text).
 */
function haystackOf(output: Rec): string {
  const joined = stringsIn(output).join('\u0000');
  const unescaped = joined
    .replace(/\\u([0-9a-fA-F]{4})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)))
    .replace(/\\n/g, '\n')
    .replace(/\\t/g, '\t')
    .replace(/\\(["\\/])/g, '$1');
  return `${squash(joined)}\u0001${squash(unescaped)}`;
}

/** The field names `drop` covers: a path and everything under it; `system` and `reasoning` name every place those live. */
function dropPrefixes(drop: readonly string[]): string[] {
  return drop.flatMap((d) => {
    if (d === 'system') return ['messages[system]'];
    if (d === 'reasoning') return ['reasoning', 'reasoning_trace', 'chain_of_thought'];
    return [d];
  });
}

const covered = (field: string, prefixes: string[]) => prefixes.some((d) => field === d || field.startsWith(`${d}.`) || field.startsWith(`${d}[`));

/** The fields of `record` whose text does not appear in `output`, leaving out those `drop` names. */
function lostFields(record: Rec, output: Rec, drop: readonly string[] = []): string[] {
  const haystack = haystackOf(output);
  const prefixes = dropPrefixes(drop);
  const lost = new Set<string>();
  for (const [field, text] of texts(record, '', [])) if (!covered(field, prefixes) && !haystack.includes(squash(text))) lost.add(field);
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

/** How a record is written: a named format or a function, and the fields the caller lets a named format leave out. */
export type FormatOptions = { drop?: readonly string[] };

/**
 * Applies a named formatter or a function; an unknown name lists the known ones. A named format
 * that would drop a field of the record refuses it (`FormatLossError`) unless `drop` names the
 * field; a record the format cannot shape at all is refused too (`FormatSkipError`); a function is
 * the caller's.
 */
export function applyFormatter(format: string | Formatter, record: Rec, opts: FormatOptions = {}): Rec {
  if (typeof format === 'function') return format(record);
  const f = FORMATTERS[format];
  if (!f) throw new ConfigurationError(`unknown format "${format}"; known formats: ${Object.keys(FORMATTERS).join(', ')}`);
  const out = f(record);
  const lost = lostFields(record, out, opts.drop);
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
    question: 'U1',
    final_answer: 'A1',
    metadata: { topic_id: 'I1' },
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
    reasoning: {
      style: 'agent',
      content: [
        { step_number: 1, thought: 'T1', action: 'N1({"k":"V1"})' },
        { step_number: 2, thought: 'T2', action: 'Ready to respond to user' },
      ],
    },
    tool_context: { executions: [{ function_name: 'N1', arguments: '{"k":"V1"}', reasoning: 'W1', result: 'O1' }] },
    tools: [
      {
        type: 'function',
        function: { name: 'N1', description: 'D1', parameters: { type: 'object', properties: { k: { type: 'string', description: 'P1' } }, required: ['k'] } },
      },
    ],
    agent_context: { mode: 'single_turn' },
    question: 'U1',
    final_answer: 'A1',
    metadata: { conversation_type: 'cot', react_steps: 2, topic_id: 'I1' },
  },
};

/** A tool-less agent record (a cot agent run without tools): reasoning steps, no executions. */
const AGENT_WITHOUT_TOOLS: Rec = {
  messages: [
    { role: 'system', content: 'S1' },
    { role: 'user', content: 'U1' },
    { role: 'assistant', content: 'A1' },
  ],
  reasoning: { style: 'agent', content: [{ step_number: 1, thought: 'T1', action: 'X1' }] },
  question: 'U1',
  final_answer: 'A1',
  metadata: { topic_id: 'I1' },
};

/** The sample record a run of `type` writes: with or without tools (agent) and a system message. */
export function sampleRecord(type: ConversationType, opts: { tools?: boolean; systemMessage?: boolean } = {}): Rec {
  const record = type === 'agent' && opts.tools === false ? AGENT_WITHOUT_TOOLS : SAMPLE_RECORDS[type];
  if (opts.systemMessage !== false || !Array.isArray(record.messages)) return record;
  return { ...record, messages: (record.messages as Msg[]).filter((m) => m.role !== 'system') };
}

/**
 * Checks before a run that `format` can carry every field of the records the run writes (less the
 * fields `drop` names), so a run is never paid for and then refused at the end.
 */
export function checkFormat(
  format: string,
  type: ConversationType,
  opts: { field?: string; drop?: readonly string[]; tools?: boolean; systemMessage?: boolean } = {},
): void {
  const field = opts.field ?? 'output.format';
  if (!FORMATTERS[format]) throw new ConfigurationError(`${field}: unknown format "${format}"; known formats: ${Object.keys(FORMATTERS).join(', ')}`);
  try {
    applyFormatter(format, sampleRecord(type, opts), { drop: opts.drop ?? [] });
  } catch (err) {
    if (err instanceof ConfigurationError) throw new ConfigurationError(`${field}: ${type} records: ${err.message}`, err.issues);
    throw err;
  }
}
