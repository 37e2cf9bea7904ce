/**
 * Output formatters (DeepFabric 2.x): each turns one record into the shape a trainer expects.
 */
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
  throw new Error('record has neither messages nor question: cannot format it');
}

function reasoningOf(r: Rec): string | undefined {
  if (typeof r.chain_of_thought === 'string') return r.chain_of_thought;
  if (Array.isArray(r.reasoning_trace)) {
    return (r.reasoning_trace as { step_number: number; thought: string; action: string }[])
      .map((s) => `${s.step_number}. ${s.thought}${s.action ? ` (${s.action})` : ''}`)
      .join('\n');
  }
  if (typeof r.reasoning_trace === 'string') return r.reasoning_trace;
  return undefined;
}

function finalAnswerOf(r: Rec, msgs: Msg[]): string {
  if (typeof r.final_answer === 'string') return r.final_answer;
  return [...msgs].reverse().find((m) => m.role === 'assistant')?.content ?? '';
}

export const FORMATTERS: Record<string, Formatter> = {
  chatml: (r) => ({ messages: messagesOf(r) }),
  chatml_text: (r) => ({
    text: messagesOf(r)
      .map((m) => `<|im_start|>${m.role}\n${m.content}<|im_end|>`)
      .join('\n') + '\n',
  }),
  alpaca: (r) => {
    const msgs = messagesOf(r);
    const system = msgs.filter((m) => m.role === 'system').map((m) => m.content).join('\n');
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
  trl: (r) => ({ messages: messagesOf(r), ...(Array.isArray(r.tools) ? { tools: r.tools } : { tools: [] }) }),
  grpo: (r) => {
    const msgs = messagesOf(r);
    const reasoning = reasoningOf(r) ?? '';
    const answer = finalAnswerOf(r, msgs);
    const prompt = msgs.filter((m) => m.role !== 'assistant');
    return {
      messages: [
        ...prompt,
        { role: 'assistant', content: `<start_working_out>${reasoning}<end_working_out><SOLUTION>${answer}</SOLUTION>` },
      ],
    };
  },
  harmony: (r) => {
    const msgs = messagesOf(r);
    const reasoning = reasoningOf(r);
    const parts = msgs.map((m) => {
      if (m.role === 'assistant') {
        const analysis = reasoning && m === [...msgs].reverse().find((x) => x.role === 'assistant')
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

/** Applies a named formatter or a function; an unknown name lists the known ones. */
export function applyFormatter(format: string | Formatter, record: Rec): Rec {
  if (typeof format === 'function') return format(record);
  const f = FORMATTERS[format];
  if (!f) throw new Error(`unknown format "${format}"; known formats: ${Object.keys(FORMATTERS).join(', ')}`);
  return f(record);
}
