/**
 * The formats DeepFabric 3.x users know by name, writing what DeepFabric 3.13.0's built-in
 * formatters write (default configuration) for the same record. DeepFabric 3.x reads an agent
 * record's tools from `tool_context.available_tools` (its own tool definitions); a 4.x record keeps
 * them in `tools` (OpenAI's form), so they are read from there, as DeepFabric 3.x would have had
 * them. The conformance test runs DeepFabric 3.13's own formatter code on the same records and
 * compares. A record DeepFabric 3.13 would skip is refused here (`FormatSkipError`), never dropped.
 * Where DeepFabric's output leaves out some of the record, the loss check around these formats
 * refuses it unless the caller names what may be dropped.
 */
import { ConfigurationError } from '../errors';
import { pyDumps } from '../python-json';

type Rec = Record<string, unknown>;
type Msg = { role: string; content?: string | null; tool_calls?: ToolCall[] | null; [k: string]: unknown };
type ToolCall = { function?: { name?: string; arguments?: string } };
type Step = { thought?: string; action?: string | null };
type Execution = { function_name: string; arguments: string; result: string };
/** A tool as DeepFabric 3.x defined it: parameters as a list with its own type names. */
type ToolDef = { name: string; description: string; parameters: { name: string; type: string; description: string; required: boolean }[] };

/** A record the named DeepFabric 3.13 format does not format (DeepFabric skips it). */
export class FormatSkipError extends ConfigurationError {
  constructor(format: string, why: string) {
    super(`format "${format}" cannot format this record: ${why} (DeepFabric 3.13's ${format} skips such records)`, [`${format}: ${why}`]);
    this.name = 'FormatSkipError';
  }
}

const has = (r: Rec, key: string) => Object.prototype.hasOwnProperty.call(r, key);
/** Python's truthiness for the values a record holds. */
const truthy = (v: unknown) => !(v === undefined || v === null || v === '' || v === false || v === 0 || (Array.isArray(v) && !v.length));
const messagesOf = (r: Rec): Msg[] => (Array.isArray(r.messages) ? (r.messages as Msg[]) : []);
const executionsOf = (r: Rec): Execution[] => {
  const ctx = r.tool_context as { executions?: Execution[] } | undefined;
  return Array.isArray(ctx?.executions) ? ctx.executions : [];
};
const rstrip = (s: string) => s.replace(/\s+$/u, '');

const PY_TYPES: Record<string, string> = { string: 'str', integer: 'int', number: 'float', boolean: 'bool', array: 'list', object: 'dict' };

/** The record's tools as DeepFabric 3.x's tool definitions (from `tool_context.available_tools`, or `tools` in OpenAI's form). */
function availableTools(r: Rec): ToolDef[] {
  const ctx = r.tool_context as { available_tools?: ToolDef[] } | undefined;
  if (!ctx) return [];
  if (Array.isArray(ctx.available_tools)) return ctx.available_tools;
  const tools = Array.isArray(r.tools) ? (r.tools as { function?: { name?: string; description?: string; parameters?: Rec } }[]) : [];
  return tools.map((t) => {
    const params = (t.function?.parameters ?? {}) as { properties?: Record<string, { type?: string; description?: string }>; required?: string[] };
    const required = new Set(params.required ?? []);
    return {
      name: t.function?.name ?? '',
      description: t.function?.description ?? '',
      parameters: Object.entries(params.properties ?? {}).map(([name, p]) => ({
        name,
        type: PY_TYPES[p.type ?? ''] ?? 'str',
        description: p.description ?? '',
        required: required.has(name),
      })),
    };
  });
}

/** Only the tools the record's executions used (DeepFabric 3.x's `_get_conversation_used_tools`). */
function usedTools(r: Rec): ToolDef[] {
  const used = new Set(executionsOf(r).map((e) => e.function_name));
  return used.size ? availableTools(r).filter((t) => used.has(t.name)) : [];
}

/** A tool in OpenAI's form with DeepFabric 3.x's parameter types, as its chatml and tool_calling formats print it. */
const functionTool = (t: ToolDef) => ({
  type: 'function',
  function: {
    name: t.name,
    description: t.description,
    parameters: {
      type: 'object',
      properties: Object.fromEntries(t.parameters.map((p) => [p.name, { type: p.type, description: p.description }])),
      required: t.parameters.filter((p) => p.required).map((p) => p.name),
    },
  },
});

function parsedArguments(e: Execution): unknown {
  return typeof e.arguments === 'string' ? JSON.parse(e.arguments) : e.arguments;
}

// ---------------------------------------------------------------- alpaca

export function alpaca(r: Rec): Rec {
  if (has(r, 'question') && (has(r, 'answer') || has(r, 'final_answer'))) {
    const answer = truthy(r.answer) ? r.answer : (r.final_answer ?? '');
    const input = ['context', 'passage', 'background', 'input'].map((k) => r[k]).find(truthy) ?? '';
    const output = truthy(r.chain_of_thought) ? `${String(r.chain_of_thought)}\n\n${String(answer)}` : answer;
    return { instruction: r.question, output, input };
  }
  if (has(r, 'instruction') && has(r, 'output')) return { instruction: r.instruction, output: r.output, input: r.input ?? '' };
  const msgs = messagesOf(r);
  if (!msgs.length) throw new FormatSkipError('alpaca', 'it has no messages and no question');
  let instruction = msgs.find((m) => m.role === 'system')?.content ?? '';
  let input = '';
  const users = msgs.filter((m) => m.role === 'user').map((m) => m.content ?? '');
  if (users.length) {
    if (instruction) input = users.join(' ');
    else {
      instruction = users[0]!;
      input = users.slice(1).join(' ');
    }
  }
  const assistants = msgs.filter((m) => m.role === 'assistant').map((m) => m.content ?? '');
  let output = assistants.join(' ');
  const reasoning = r.reasoning as { content?: unknown } | undefined;
  if (!assistants.length && reasoning && truthy(r.final_answer)) {
    const parts = typeof reasoning.content === 'string' ? [reasoning.content] : ((reasoning.content as Step[]) ?? []).map((s) => s.thought).filter(truthy);
    output = parts.length ? `${parts.join(' ')} The answer is ${String(r.final_answer)}.` : String(r.final_answer);
  }
  return { instruction, output, input };
}

// ---------------------------------------------------------------- conversations

export function conversations(r: Rec): Rec {
  let msgs: { role: string; content?: unknown }[];
  if (has(r, 'messages')) msgs = messagesOf(r);
  else if (has(r, 'question') && has(r, 'answer'))
    msgs = [
      { role: 'user', content: r.question },
      { role: 'assistant', content: r.answer },
    ];
  else if (has(r, 'instruction')) {
    const content = truthy(r.input) ? `${String(r.instruction)}\n\nInput: ${String(r.input)}` : r.instruction;
    msgs = [{ role: 'user', content }, ...(has(r, 'output') ? [{ role: 'assistant', content: r.output }] : [])];
  } else throw new FormatSkipError('conversations', 'it has no messages (a question-form record needs an "answer" field)');
  if (!msgs.length) throw new FormatSkipError('conversations', 'it has no messages');
  return { conversations: msgs.filter((m) => (m.role ?? 'user') !== 'system').map((m) => ({ role: m.role ?? 'user', content: m.content ?? '' })) };
}

// ---------------------------------------------------------------- chatml

const THINK = (text: string) => `<think>\n${text}\n</think>\n`;
const normalizeWhitespace = (text: string) => text.replace(/\n\n+/g, ' ').replace(/\n/g, ' ').replace(/ +/g, ' ').trim();
const stepsArrowText = (steps: Step[]) =>
  steps
    .filter((s) => typeof s.thought === 'string')
    .map((s) => (s.action ? `${s.thought} → ${s.action}` : s.thought))
    .join(' ');

function chatmlReasoning(r: Rec): string {
  const reasoning = r.reasoning as { style?: string; content?: unknown } | undefined;
  if (!reasoning) return '';
  if (reasoning.style === 'freetext') return normalizeWhitespace(typeof reasoning.content === 'string' ? reasoning.content : '');
  if (reasoning.style === 'agent' && Array.isArray(reasoning.content)) return stepsArrowText(reasoning.content as Step[]);
  return '';
}

const CHATML_TOOLS_HEADER =
  'You are provided with function signatures within <tools></tools> XML tags. You may call one or more functions to assist with the user query. For each function call return a json object with function name and arguments within <tool_call></tool_call> XML tags.';
const CHATML_TOOLS_ONLY =
  'You are a function calling AI model. You are provided with function signatures\nwithin <tools></tools> XML tags. You may call one or more functions to assist\nwith the user query. For each function call return a json object with function\nname and arguments within <tool_call></tool_call> XML tags.';

function chatmlMessages(r: Rec): { role: string; content: string | null | undefined }[] {
  const msgs = messagesOf(r);
  if (!msgs.length) throw new FormatSkipError('chatml', 'it has no messages');
  const users = msgs.filter((m) => m.role === 'user').length;
  if ((r.agent_context as { mode?: string } | undefined)?.mode === 'multi_turn' && users > 1)
    throw new FormatSkipError('chatml', 'multi-turn agent records are not formatted here');
  const out: { role: string; content: string | null | undefined }[] = [];
  let system = msgs.find((m) => m.role === 'system')?.content ?? '';
  const tools = usedTools(r);
  if (tools.length) {
    const json = pyDumps(tools.map(functionTool), 1);
    system = system
      ? `${system}\n\n${CHATML_TOOLS_HEADER}\n\nHere are the available tools:\n<tools>\n${json}\n</tools>`
      : `${CHATML_TOOLS_ONLY}\n\nHere are the available tools:\n<tools>\n${json}\n</tools>`;
  }
  if (system) out.push({ role: 'system', content: system });
  let firstAssistant = true;
  for (const m of msgs) {
    if (m.role === 'system') continue;
    if (m.role === 'assistant' && firstAssistant) {
      firstAssistant = false;
      const parts: string[] = [];
      const reasoning = chatmlReasoning(r);
      if (reasoning) parts.push(THINK(reasoning));
      if (reasoning && truthy(r.final_answer)) parts.push(String(r.final_answer));
      else if (m.content) parts.push(m.content);
      for (const e of executionsOf(r)) {
        try {
          parts.push(`\n<tool_call>\n${pyDumps({ name: e.function_name, arguments: parsedArguments(e) })}\n</tool_call>`);
        } catch {
          // DeepFabric skips a call whose arguments are not JSON.
        }
      }
      out.push({ role: 'assistant', content: parts.join('') });
    } else if (m.role === 'tool') {
      const content = m.content ?? '';
      out.push({ role: 'tool', content: content.startsWith('<tool_response>') ? content : `<tool_response>\n${content}\n</tool_response>` });
    } else out.push({ role: m.role, content: m.content ?? null });
  }
  return out;
}

export const chatml = (r: Rec): Rec => ({ messages: chatmlMessages(r) });

export const chatmlText = (r: Rec): Rec => ({
  text: chatmlMessages(r)
    .flatMap((m) => [`<|im_start|>${m.role}`, rstrip(m.content ?? ''), '<|im_end|>'])
    .join('\n'),
});

// ---------------------------------------------------------------- harmony

type HarmonyMsg = { role: string; content: string; channel?: string; recipient?: string };
const HARMONY_SYSTEM = [
  'You are a large language model trained by OpenAI.',
  'Knowledge cutoff: 2024-01',
  'Reasoning: high',
  '# Valid channels: analysis, commentary, final',
];

function harmonyText(msgs: HarmonyMsg[]): string {
  for (const m of msgs) if (!m.content.trim()) throw new FormatSkipError('harmony', `an empty ${m.role} message`);
  return msgs
    .flatMap((m) => [
      `<|start|>${m.role}${m.role === 'assistant' && m.channel ? `<|channel|>${m.channel}` : ''}${m.recipient ? `<|recipient|>${m.recipient}` : ''}<|message|>`,
      m.content,
      '<|end|>',
    ])
    .join('\n');
}

export function harmony(r: Rec): Rec {
  const system: HarmonyMsg = { role: 'system', content: [...HARMONY_SYSTEM, ...(truthy(r.system_prompt) ? [String(r.system_prompt)] : [])].join('\n') };
  if (has(r, 'messages')) {
    const msgs = messagesOf(r);
    const roles = new Set(msgs.map((m) => m.role));
    if (!roles.has('user') || !roles.has('assistant')) throw new FormatSkipError('harmony', 'it needs a user and an assistant message');
    const out: HarmonyMsg[] = [system];
    for (const m of msgs) {
      // DeepFabric skips a message without text (a tool call's own message among them) and the record's system message.
      if (typeof m.content !== 'string' || !m.content.trim() || !['user', 'assistant', 'tool', 'developer'].includes(m.role)) continue;
      if (m.role === 'assistant' && Array.isArray(m.tool_calls) && m.tool_calls.length) {
        for (const call of m.tool_calls)
          out.push({
            role: 'assistant',
            content: m.content,
            channel: 'commentary',
            ...(call.function ? { recipient: `functions.${call.function.name}` } : {}),
          });
        continue;
      }
      if (m.role === 'assistant') {
        const fc = m.function_call as { name?: string } | undefined;
        if (has(m, 'function_call'))
          out.push({ role: 'assistant', content: m.content, channel: 'commentary', ...(fc?.name ? { recipient: `functions.${fc.name}` } : {}) });
        else out.push({ role: 'assistant', content: m.content, channel: has(m, 'reasoning') || has(m, 'thinking') ? 'analysis' : 'final' });
      } else out.push({ role: m.role, content: m.content });
    }
    return { text: harmonyText(out) };
  }
  if (has(r, 'question') && (has(r, 'answer') || has(r, 'final_answer'))) {
    const answer = String((truthy(r.answer) ? r.answer : r.final_answer) ?? '');
    const out: HarmonyMsg[] = [system, { role: 'user', content: String(r.question) }];
    if (truthy(r.chain_of_thought)) out.push({ role: 'assistant', content: String(r.chain_of_thought), channel: 'analysis' });
    out.push({ role: 'assistant', content: answer, channel: 'final' });
    return { text: harmonyText(out) };
  }
  throw new FormatSkipError('harmony', 'it has no messages and no question');
}

// ---------------------------------------------------------------- openai

export function openai(r: Rec): Rec {
  const msgs = messagesOf(r);
  if (!msgs.length) throw new FormatSkipError('openai', 'it has no messages');
  return { messages: msgs, ...(Array.isArray(r.tools) && r.tools.length ? { tools: r.tools } : {}) };
}

// ---------------------------------------------------------------- tool_calling

const TOOL_CALLING_SYSTEM =
  "You are a function calling AI model. You are provided with function signatures within <tools></tools> XML tags. You may call one or more functions to assist with the user query. Don't make assumptions about what values to plug into functions. For each function call return a json object with function name and arguments within <tool_call></tool_call> XML tags.";

export function toolCalling(r: Rec): Rec {
  const executions = executionsOf(r);
  if (!executions.length) throw new FormatSkipError('tool_calling', 'it has no tool executions (tool_context.executions)');
  const tools = usedTools(r);
  const reasoning = r.reasoning as { content?: unknown } | undefined;
  const reasoningParts =
    typeof reasoning?.content === 'string'
      ? [reasoning.content]
      : Array.isArray(reasoning?.content)
        ? ['Step-by-step reasoning:', ...(reasoning.content as Step[]).map((s, i) => `${i + 1}. ${s.thought}${s.action ? ` → ${s.action}` : ''}`)]
        : [];
  const out: { role: string; content: string }[] = [];
  if (tools.length)
    out.push({ role: 'system', content: `${TOOL_CALLING_SYSTEM}\n\nHere are the available tools:\n<tools>\n${pyDumps(tools.map(functionTool), 2)}\n</tools>` });
  out.push({ role: 'user', content: truthy(r.question) ? String(r.question) : '' });
  let calls = '';
  for (const e of executions) {
    try {
      calls += `<tool_call>\n${pyDumps({ name: e.function_name, arguments: parsedArguments(e) })}\n</tool_call>`;
    } catch {
      // DeepFabric skips a call whose arguments are not JSON.
    }
  }
  out.push({ role: 'assistant', content: `<think>${reasoningParts.join('\n')}</think>${calls}` });
  for (const e of executions) out.push({ role: 'tool', content: `<tool_response>\n${e.result}\n</tool_response>` });
  const answer = truthy(r.final_answer) ? String(r.final_answer) : 'No answer provided';
  const interpretation = (r.structured_data as { result_interpretation?: string } | undefined)?.result_interpretation;
  out.push({ role: 'assistant', content: interpretation ? `${interpretation}\n${answer}` : answer });
  return { messages: out };
}

// ---------------------------------------------------------------- single_tool_call

const SINGLE_SYSTEM = 'You are a helpful assistant with access to the following functions. Use them if required:';
const GENERIC_FUNCTIONS = {
  functions: [
    {
      name: 'generic_function',
      description: 'A generic function that can perform various operations',
      parameters: { type: 'object', properties: {}, required: [] },
    },
  ],
};
const ACTIONS: Record<string, string> = {
  get_weather: 'check the weather',
  get_time: 'check the current time',
  calculator: 'perform the calculation',
  web_search: 'search for that information',
  database_query: 'query the database',
  api_call: 'make the API call',
};

function actionOf(name: string, args: Rec): string {
  if (name === 'get_weather' && has(args, 'location')) return `check the weather in ${String(args.location)}`;
  if (name === 'get_time' && has(args, 'timezone')) return `check the time in ${String(args.timezone)}`;
  if (name === 'calculator' && has(args, 'expression')) return `calculate ${String(args.expression)}`;
  if (name === 'web_search' && has(args, 'query')) return `search for ${String(args.query)}`;
  return ACTIONS[name] ?? `use the ${name} tool`;
}

export function singleToolCall(r: Rec): Rec {
  const executions = executionsOf(r);
  if (!executions.length) throw new FormatSkipError('single_tool_call', 'it has no tool executions (tool_context.executions)');
  const tools = availableTools(r);
  const functions = tools.length
    ? {
        functions: tools.map((t) => ({
          name: t.name,
          description: t.description,
          parameters: functionTool(t).function.parameters,
        })),
      }
    : GENERIC_FUNCTIONS;
  const out: { role: string; content: string }[] = [
    { role: 'system', content: `${SINGLE_SYSTEM}\n\n${pyDumps(functions, 2)}` },
    { role: 'user', content: typeof r.question === 'string' ? r.question : '' },
  ];
  for (const e of executions) {
    let args: Rec = {};
    try {
      args = (parsedArguments(e) ?? {}) as Rec;
    } catch {
      args = {};
    }
    out.push({
      role: 'assistant',
      content: `I'll ${actionOf(e.function_name, args)} for you.\n\n<tool_call>\n${pyDumps({ name: e.function_name, arguments: args })}\n</tool_call>`,
    });
    out.push({ role: 'tool', content: pyDumps({ result: e.result }) });
  }
  out.push({ role: 'assistant', content: String((truthy(r.answer) ? r.answer : r.final_answer) ?? '') });
  return { messages: out };
}

// ---------------------------------------------------------------- xlam_v2

export function xlamV2(r: Rec): Rec {
  const msgs = messagesOf(r);
  if (msgs.length < 3 || msgs.length > 15) throw new FormatSkipError('xlam_v2', `it has ${msgs.length} messages (3 to 15 are formatted)`);
  const tools = availableTools(r);
  if (!tools.length) throw new FormatSkipError('xlam_v2', 'it has no tools (tool_context)');
  const nonSystem = msgs.filter((m) => m.role !== 'system');
  const direct = msgs.some((m) => m.role === 'function_call');
  if (!direct && nonSystem.length && nonSystem[0]!.role !== 'user') throw new FormatSkipError('xlam_v2', 'its first message is not the user');
  if (direct) throw new FormatSkipError('xlam_v2', 'records with function_call messages are not formatted here');
  const executions = executionsOf(r);
  const turns: { from: string; value: string }[] = [];
  let next = 0;
  for (let i = 0; i < msgs.length; i++) {
    const m = msgs[i]!;
    const value = String(m.content ?? 'None');
    if (m.role === 'user') turns.push({ from: 'human', value });
    else if (m.role === 'assistant') {
      turns.push({ from: 'gpt', value });
      while (msgs[i + 1]?.role === 'tool') {
        i++;
        const e = executions[next];
        if (!e) continue;
        next++;
        let args: unknown = {};
        try {
          args = parsedArguments(e);
        } catch {
          args = {};
        }
        turns.push({ from: 'function_call', value: pyDumps({ name: e.function_name, arguments: args }) });
        turns.push({ from: 'observation', value: String(msgs[i]!.content ?? 'None') });
      }
    }
  }
  const meta = (r.metadata ?? {}) as Rec;
  const system =
    [r.domain_policy, r.system, r.domain_context, r.scenario_description].find(truthy) ??
    [meta.domain_policy, meta.domain_context, meta.system, meta.scenario_description].find(truthy) ??
    '';
  const xlamTools = tools.map((t) => ({
    name: t.name,
    description: t.description,
    parameters: {
      type: 'object',
      properties: Object.fromEntries(
        t.parameters.map((p) => [p.name, { type: Object.entries(PY_TYPES).find(([, py]) => py === p.type)?.[0] ?? 'string', description: p.description }]),
      ),
      required: t.parameters.filter((p) => p.required).map((p) => p.name),
    },
  }));
  return { conversations: turns, tools: pyDumps(xlamTools), system: String(system) };
}
