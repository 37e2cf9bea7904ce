import { RecordSchemas, toRecord, recordText } from '../../src/dataset/example-schemas';
import { applyFormatter, checkFormat, FORMATTERS, FormatLossError, SAMPLE_RECORDS } from '../../src/dataset/formatters';
import { FormatSkipError } from '../../src/dataset/deepfabric3-formats';
import { ConfigurationError } from '../../src/errors';
import { applyContentFilters } from '../../src/dataset/content-filters';
import { Dataset } from '../../src/dataset/dataset';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const opts = { sysMsg: true, systemPrompt: 'SYS' };

describe('conversation types', () => {
  it('basic inserts the system message first when sysMsg is true, not when false', () => {
    const raw = {
      messages: [
        { role: 'user', content: 'Q' },
        { role: 'assistant', content: 'A' },
      ],
    };
    // DeepFabric 4.13's basic record: the question and the answer beside the messages.
    expect(toRecord('basic', raw, opts)).toEqual({ messages: [{ role: 'system', content: 'SYS' }, ...raw.messages], question: 'Q', final_answer: 'A' });
    expect(toRecord('basic', raw, { ...opts, sysMsg: false })).toEqual({ ...raw, question: 'Q', final_answer: 'A' });
  });
  it('every type parses with its record schema', () => {
    const turns = [
      { role: 'user', content: 'Q' },
      { role: 'assistant', content: 'A' },
    ];
    const raws = {
      basic: { messages: turns },
      structured: { messages: turns, reasoning_trace: 'why', metadata: { topic: 't', difficulty: 'easy', tags: ['x'] } },
      cot_freetext: { question: 'Q', chain_of_thought: 'think', final_answer: '42' },
      cot_structured: { messages: turns, reasoning_trace: [{ step_number: 1, thought: 'T', action: 'A' }], final_answer: '42' },
      tool_calling: {
        tools: [{ name: 'get_weather', description: 'Weather', parameters_json: '{"type":"object","properties":{"city":{"type":"string"}}}' }],
        messages: [
          { role: 'user', content: 'Weather in Oslo?', tool_calls: [], tool_call_id: '' },
          { role: 'assistant', content: '', tool_calls: [{ id: 'c1', name: 'get_weather', arguments_json: '{"city":"Oslo"}' }], tool_call_id: '' },
          { role: 'tool', content: '{"temp": 3}', tool_calls: [], tool_call_id: 'c1' },
          { role: 'assistant', content: 'It is 3 degrees.', tool_calls: [], tool_call_id: '' },
        ],
      },
    } as const;
    for (const [type, raw] of Object.entries(raws)) {
      const record = toRecord(type as keyof typeof raws, raw, opts);
      expect(RecordSchemas[type as keyof typeof raws].safeParse(record).success).toBe(true);
    }
    const tc = toRecord('tool_calling', raws.tool_calling, opts) as any;
    expect(tc.messages[2].tool_calls).toEqual([{ id: 'c1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } }]);
    expect(tc.messages[3].tool_call_id).toBe('c1');
    expect(tc.tools[0].function.parameters).toEqual({ type: 'object', properties: { city: { type: 'string' } } });
  });
  it('refuses a tool call whose arguments are not JSON', () => {
    const bad = {
      tools: [{ name: 'f', description: '', parameters_json: '{}' }],
      messages: [
        { role: 'user', content: 'x', tool_calls: [], tool_call_id: '' },
        { role: 'assistant', content: '', tool_calls: [{ id: 'c', name: 'f', arguments_json: 'not json' }], tool_call_id: '' },
      ],
    };
    expect(() => toRecord('tool_calling', bad, opts)).toThrow(/arguments_json of call c is not valid JSON/);
  });
});

describe('formatters', () => {
  const rec = {
    messages: [
      { role: 'system', content: 'SYS' },
      { role: 'user', content: 'What is 2+2?' },
      { role: 'assistant', content: '4' },
    ],
  };
  const cot = { question: 'What is 2+2?', chain_of_thought: 'Add 2 and 2.', final_answer: '4' };
  it("chatml and chatml_text: DeepFabric 3.13's messages and its text form (no trailing newline)", () => {
    expect(applyFormatter('chatml', rec)).toEqual({ messages: rec.messages });
    expect(applyFormatter('chatml_text', rec)).toEqual({
      text: '<|im_start|>system\nSYS\n<|im_end|>\n<|im_start|>user\nWhat is 2+2?\n<|im_end|>\n<|im_start|>assistant\n4\n<|im_end|>',
    });
  });
  it('alpaca: the system message is the instruction and the user the input; a question record is instruction and answer', () => {
    expect(applyFormatter('alpaca', rec)).toEqual({ instruction: 'SYS', input: 'What is 2+2?', output: '4' });
    expect(applyFormatter('alpaca', cot)).toEqual({ instruction: 'What is 2+2?', input: '', output: 'Add 2 and 2.\n\n4' });
  });
  it('sharegpt writes from/value turns; conversations (DeepFabric 3.x) role/content turns without the system message, only when told to drop it', () => {
    expect(applyFormatter('sharegpt', rec)).toEqual({
      conversations: [
        { from: 'system', value: 'SYS' },
        { from: 'human', value: 'What is 2+2?' },
        { from: 'gpt', value: '4' },
      ],
    });
    expect(() => applyFormatter('conversations', rec)).toThrow(/cannot carry messages\[system\]\.content.*--drop system/);
    expect(applyFormatter('conversations', rec, { drop: ['system'] })).toEqual({
      conversations: [
        { role: 'user', content: 'What is 2+2?' },
        { role: 'assistant', content: '4' },
      ],
    });
  });
  it('trl keeps the tools', () => {
    const tools = [{ type: 'function', function: { name: 'f', description: 'd', parameters: {} } }];
    expect(applyFormatter('trl', { ...rec, tools })).toEqual({ messages: rec.messages, tools });
  });
  it('grpo wraps reasoning and answer in markers; with messages the answer is the assistant message', () => {
    expect(applyFormatter('grpo', cot)).toEqual({
      messages: [
        { role: 'user', content: 'What is 2+2?' },
        { role: 'assistant', content: '<start_working_out>Add 2 and 2.<end_working_out><SOLUTION>4</SOLUTION>' },
      ],
    });
    const cot4 = { ...rec, reasoning: { style: 'freetext', content: 'Add.' }, question: 'What is 2+2?', final_answer: '4' };
    expect((applyFormatter('grpo', cot4).messages as { content: string }[]).at(-1)!.content).toBe(
      '<start_working_out>Add.<end_working_out><SOLUTION>4</SOLUTION>',
    );
  });
  it("harmony: OpenAI's preamble replaces the record's system message (a drop to name), reasoning of a question record in the analysis channel", () => {
    expect(applyFormatter('harmony', rec, { drop: ['system'] })).toEqual({
      text:
        '<|start|>system<|message|>\nYou are a large language model trained by OpenAI.\nKnowledge cutoff: 2024-01\nReasoning: high\n# Valid channels: analysis, commentary, final\n<|end|>\n' +
        '<|start|>user<|message|>\nWhat is 2+2?\n<|end|>\n<|start|>assistant<|channel|>final<|message|>\n4\n<|end|>',
    });
    expect(applyFormatter('harmony', cot).text).toContain('<|start|>assistant<|channel|>analysis<|message|>\nAdd 2 and 2.\n<|end|>');
  });
  it("chatml on an agent record: the used tools in the system message, <think> with the steps, DeepFabric's JSON (Python's separators, ASCII escapes) in <tool_call>", () => {
    const agent = structuredClone(SAMPLE_RECORDS.agent) as { tool_context: { executions: { arguments: string }[] } };
    agent.tool_context.executions[0]!.arguments = '{"k":"Zürich"}';
    const out = applyFormatter('chatml', agent, { drop: ['tool_context.executions[].reasoning'] }) as { messages: { role: string; content: string }[] };
    expect(out.messages[0]!.content).toMatch(/^S1\n\nYou are provided with function signatures.*<tools>\n\[\n {1}\{\n {2}"type": "function",/s);
    expect(out.messages[0]!.content).toContain('"k": {\n      "type": "str",\n      "description": "P1"\n     }');
    expect(out.messages[2]).toEqual({
      role: 'assistant',
      content:
        '<think>\nT1 → N1({"k":"V1"}) T2 → Ready to respond to user\n</think>\nA1\n<tool_call>\n{"name": "N1", "arguments": {"k": "Z\\u00fcrich"}}\n</tool_call>',
    });
    expect(out.messages[3]).toEqual({ role: 'tool', content: '<tool_response>\nO1\n</tool_response>' });
  });
  it('a record DeepFabric 3.13 would skip is refused, never dropped', () => {
    expect(() => applyFormatter('tool_calling', rec)).toThrow(FormatSkipError);
    expect(() => applyFormatter('xlam_v2', rec)).toThrow(/format "xlam_v2" cannot format this record: it has no tools/);
  });
  it('user functions, and unknown names listed', () => {
    expect(applyFormatter((r) => ({ n: (r.messages as unknown[]).length }), rec)).toEqual({ n: 3 });
    expect(() => applyFormatter('nope', rec)).toThrow(/unknown format "nope"; known formats: alpaca, chatml/);
  });
});

describe('content filters (declarative)', () => {
  const check = (filters: object, content: string, record: object = {}) => applyContentFilters(filters, content, record as never, 't', {});
  it('rejects by length, phrase, regex and missing field, naming the reason', async () => {
    expect(await check({ minLength: 10 }, 'short')).toEqual({ ok: false, reason: 'shorter than 10 characters' });
    expect(await check({ maxLength: 3 }, 'long text')).toEqual({ ok: false, reason: 'longer than 3 characters' });
    expect(await check({ bannedPhrases: ['As an AI'] }, 'well, as an ai model')).toEqual({ ok: false, reason: 'contains banned phrase "As an AI"' });
    expect(await check({ mustMatch: '\\d' }, 'no digits')).toEqual({ ok: false, reason: 'does not match /\\d/' });
    expect(await check({ requiredFields: ['final_answer'] }, 'x', { final_answer: '' })).toEqual({ ok: false, reason: 'missing field final_answer' });
    expect(await check({ minLength: 2, bannedPhrases: ['zzz'] }, 'fine text')).toEqual({ ok: true });
  });
  it('recordText joins non-system messages', () => {
    expect(
      recordText({
        messages: [
          { role: 'system', content: 'S' },
          { role: 'user', content: 'U' },
          { role: 'assistant', content: 'A' },
        ],
      }),
    ).toBe('U\nA');
  });
});

describe('Dataset', () => {
  it('extends, saves with a format, and loads back', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ds-'));
    const ds = new Dataset([
      {
        messages: [
          { role: 'user', content: 'Q' },
          { role: 'assistant', content: 'A' },
        ],
      },
    ]);
    ds.extend(
      new Dataset([
        {
          messages: [
            { role: 'user', content: 'Q2' },
            { role: 'assistant', content: 'A2' },
          ],
        },
      ]),
    );
    expect(ds.length).toBe(2);
    await ds.save(path.join(dir, 'checkpoint_0.jsonl'));
    const back = await Dataset.load(path.join(dir, 'checkpoint_0.jsonl'));
    expect([...back]).toEqual([...ds]);
    await ds.save(path.join(dir, 'alpaca.jsonl'), { format: 'alpaca' });
    expect(readFileSync(path.join(dir, 'alpaca.jsonl'), 'utf8').split('\n')[1]).toBe('{"instruction":"Q2","output":"A2","input":""}');
    // A refusal names the record.
    const withSystem = new Dataset([...ds, { messages: [{ role: 'system', content: 'S' }, ...(ds.samples[0]!.messages as object[])] }]);
    await expect(withSystem.save(path.join(dir, 'conv.jsonl'), { format: 'conversations' })).rejects.toThrow(
      /^record 3: format "conversations" cannot carry messages\[system\]/,
    );
    await withSystem.save(path.join(dir, 'conv.jsonl'), { format: 'conversations', drop: ['system'] });
    expect(readFileSync(path.join(dir, 'conv.jsonl'), 'utf8').split('\n')[2]).toBe(
      '{"conversations":[{"role":"user","content":"Q"},{"role":"assistant","content":"A"}]}',
    );
  });
  it('names the bad line of a broken file', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ds-'));
    const file = path.join(dir, 'bad.jsonl');
    require('node:fs').writeFileSync(file, '{"a":1}\n{broken\n');
    await expect(Dataset.load(file)).rejects.toThrow(/line 2 is not valid JSON/);
  });
});

describe('formats never drop data silently', () => {
  // Every non-empty text of the record must appear in the formatted output (a format may move it,
  // reflow its whitespace, or rewrite a JSON text such as tool-call arguments with other spacing).
  const textsOf = (v: unknown): string[] => {
    if (typeof v === 'string') {
      try {
        const j: unknown = JSON.parse(v);
        if (j && typeof j === 'object') return textsOf(j);
      } catch {
        // a plain text
      }
      return v.trim() ? [v] : [];
    }
    if (Array.isArray(v)) return v.flatMap(textsOf);
    if (v && typeof v === 'object')
      return Object.entries(v)
        .filter(([k]) => !['role', 'type', 'id', 'tool_call_id', 'style', 'topic_id', 'mode', 'conversation_type'].includes(k))
        .flatMap(([, x]) => textsOf(x));
    return [];
  };
  const found = (out: object, text: string) => {
    const squash = (s: string) => s.replace(/\s+/g, ' ').trim();
    const all = JSON.stringify(out, (_, v: unknown) => v);
    const leaves: string[] = [];
    JSON.parse(all, (_, v: unknown) => (typeof v === 'string' ? (leaves.push(v), v) : v));
    const plain = squash(leaves.join(' '));
    const unescaped = squash(leaves.join(' ').replace(/\\u([0-9a-f]{4})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16))));
    return plain.includes(squash(text)) || unescaped.includes(squash(text));
  };
  const types = Object.keys(SAMPLE_RECORDS) as (keyof typeof SAMPLE_RECORDS)[];

  it.each(types)('%s records: each format keeps every text or refuses, naming the fields, a drop that allows it, and formats that can', (type) => {
    const record = SAMPLE_RECORDS[type];
    expect(RecordSchemas[type].safeParse(record).success).toBe(true); // the sample is a real record of its type
    let kept = 0;
    for (const format of Object.keys(FORMATTERS)) {
      let out: Record<string, unknown> | undefined;
      try {
        out = applyFormatter(format, record);
      } catch (err) {
        if (!(err instanceof FormatLossError)) {
          expect(err).toBeInstanceOf(ConfigurationError); // a record the format cannot shape at all
          continue;
        }
        const e = err;
        expect(e.format).toBe(format);
        expect(e.fields.length).toBeGreaterThan(0);
        expect(e.message).toContain(e.fields[0]!);
        for (const carrier of e.carriers) expect(() => applyFormatter(carrier, record)).not.toThrow();
        // The drop the message suggests is enough, and it is needed: one field fewer and it refuses again.
        const drop = /--drop (\S+)/.exec(e.message)![1]!.split(',');
        expect(() => applyFormatter(format, record, { drop })).not.toThrow();
        expect(() => applyFormatter(format, record, { drop: drop.slice(1) })).toThrow(FormatLossError);
        continue;
      }
      kept++;
      for (const text of textsOf(record)) expect({ format, text, found: found(out, text) }).toEqual({ format, text, found: true });
    }
    expect(kept).toBeGreaterThan(0); // every type has at least one format that carries it whole
  });

  it('the loss check has no false positives: reflowed reasoning, re-spaced and escaped JSON arguments, labels left out', () => {
    const agent = structuredClone(SAMPLE_RECORDS.agent) as Record<string, unknown> & { tool_context: { executions: { arguments: string }[] } };
    agent.tool_context.executions[0]!.arguments = '{"k": "Zürich 😀"}';
    const messages = agent.messages as { tool_calls?: { function: { arguments: string } }[] }[];
    messages[2]!.tool_calls![0]!.function.arguments = '{"k": "Zürich 😀"}';
    // chatml writes the arguments as Python's JSON with \u escapes, and reasoning steps reflowed; only the executions' reasoning is its loss.
    expect(() => applyFormatter('chatml', agent)).toThrow(/cannot carry tool_context\.executions\[\]\.reasoning of/);
    expect(() => applyFormatter('chatml', agent, { drop: ['tool_context.executions[].reasoning'] })).not.toThrow();
    const cot = { ...SAMPLE_RECORDS.chain_of_thought, reasoning: { style: 'freetext', content: 'Line one.\n\nLine   two.' } };
    expect(() => applyFormatter('chatml', cot, { drop: ['messages[assistant]'] })).not.toThrow();
    // The reasoning's style, the topic id and the agent's mode are labels, not training text.
    expect(() => applyFormatter('openai', SAMPLE_RECORDS.basic)).not.toThrow();
  });

  it('--drop reasoning exports a cot run as alpaca for SFT on answers; without it alpaca refuses, naming the reasoning', () => {
    const cot = SAMPLE_RECORDS.chain_of_thought;
    expect(() => applyFormatter('alpaca', cot, { drop: ['system', 'messages[assistant]'] })).toThrow(/cannot carry reasoning\.content of/);
    expect(applyFormatter('alpaca', cot, { drop: ['system', 'messages[assistant]', 'reasoning'] })).toEqual({ instruction: 'Q1', output: 'F1', input: '' });
  });

  it('grpo refuses records without reasoning instead of writing empty markers', () => {
    expect(() => applyFormatter('grpo', SAMPLE_RECORDS.basic)).toThrow(/grpo.*needs reasoning.*trl carries every field/);
  });

  it('a run whose format would drop fields is refused before it starts, naming the config field; its drop list and its records count', () => {
    expect(() => checkFormat('sharegpt', 'tool_calling')).toThrow(
      /^output\.format: tool_calling records: format "sharegpt" cannot carry messages\[assistant\]\.tool_calls/,
    );
    expect(() => checkFormat('alpaca', 'basic')).toThrow(/--drop system/);
    expect(() => checkFormat('alpaca', 'basic', { systemMessage: false })).not.toThrow();
    expect(() => checkFormat('alpaca', 'basic', { drop: ['system'] })).not.toThrow();
    expect(() => checkFormat('tool_calling', 'agent', { tools: false })).toThrow(/cannot format this record: it has no tool executions/);
    expect(() => checkFormat('parquet', 'basic')).toThrow(/unknown format "parquet"/);
  });
});
