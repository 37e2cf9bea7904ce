import { RecordSchemas, toRecord, recordText } from '../../src/dataset/example-schemas';
import { applyFormatter, checkFormat, FORMATTERS, FormatLossError, SAMPLE_RECORDS } from '../../src/dataset/formatters';
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
  it('chatml (messages and text forms)', () => {
    expect(applyFormatter('chatml', rec)).toEqual({ messages: rec.messages });
    expect(applyFormatter('chatml_text', rec)).toEqual({
      text: '<|im_start|>system\nSYS<|im_end|>\n<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n4<|im_end|>\n',
    });
  });
  it('alpaca', () => {
    expect(applyFormatter('alpaca', rec)).toEqual({ instruction: 'SYS\n\nWhat is 2+2?', input: '', output: '4' });
  });
  it('sharegpt and conversations', () => {
    const expected = {
      conversations: [
        { from: 'system', value: 'SYS' },
        { from: 'human', value: 'What is 2+2?' },
        { from: 'gpt', value: '4' },
      ],
    };
    expect(applyFormatter('sharegpt', rec)).toEqual(expected);
    expect(applyFormatter('conversations', rec)).toEqual(expected);
  });
  it('trl keeps the tools', () => {
    const tools = [{ type: 'function', function: { name: 'f', description: 'd', parameters: {} } }];
    expect(applyFormatter('trl', { ...rec, tools })).toEqual({ messages: rec.messages, tools });
  });
  it('grpo wraps reasoning and answer in markers', () => {
    expect(applyFormatter('grpo', cot)).toEqual({
      messages: [
        { role: 'user', content: 'What is 2+2?' },
        { role: 'assistant', content: '<start_working_out>Add 2 and 2.<end_working_out><SOLUTION>4</SOLUTION>' },
      ],
    });
  });
  it('harmony', () => {
    expect(applyFormatter('harmony', rec)).toEqual({
      text: '<|start|>system<|message|>SYS<|end|><|start|>user<|message|>What is 2+2?<|end|><|start|>assistant<|channel|>final<|message|>4<|end|>',
    });
  });
  it('user functions, and unknown names listed', () => {
    expect(applyFormatter((r) => ({ n: (r.messages as unknown[]).length }), rec)).toEqual({ n: 3 });
    expect(() => applyFormatter('nope', rec)).toThrow(/unknown format "nope"; known formats: chatml/);
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
    expect(readFileSync(path.join(dir, 'alpaca.jsonl'), 'utf8').split('\n')[1]).toBe('{"instruction":"Q2","input":"","output":"A2"}');
  });
  it('names the bad line of a broken file', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ds-'));
    const file = path.join(dir, 'bad.jsonl');
    require('node:fs').writeFileSync(file, '{"a":1}\n{broken\n');
    await expect(Dataset.load(file)).rejects.toThrow(/line 2 is not valid JSON/);
  });
});

describe('formats never drop data silently', () => {
  // Every non-empty text of the record must appear in the formatted output (a format may move it).
  const textsOf = (v: unknown): string[] =>
    typeof v === 'string'
      ? v.trim()
        ? [v]
        : []
      : Array.isArray(v)
        ? v.flatMap(textsOf)
        : v && typeof v === 'object'
          ? Object.entries(v)
              .filter(([k]) => !['role', 'type', 'id', 'tool_call_id'].includes(k))
              .flatMap(([, x]) => textsOf(x))
          : [];
  const types = Object.keys(SAMPLE_RECORDS) as (keyof typeof SAMPLE_RECORDS)[];

  it.each(types)('%s records: each format keeps every text or refuses, naming the field and formats that can', (type) => {
    const record = SAMPLE_RECORDS[type];
    expect(RecordSchemas[type].safeParse(record).success).toBe(true); // the sample is a real record of its type
    let kept = 0;
    for (const format of Object.keys(FORMATTERS)) {
      let out: Record<string, unknown> | undefined;
      try {
        out = applyFormatter(format, record);
      } catch (err) {
        expect(err).toBeInstanceOf(FormatLossError);
        const e = err as FormatLossError;
        expect(e.format).toBe(format);
        expect(e.fields.length).toBeGreaterThan(0);
        expect(e.message).toContain(e.fields[0]!);
        for (const carrier of e.carriers) expect(() => applyFormatter(carrier, record)).not.toThrow();
        continue;
      }
      kept++;
      const json = JSON.stringify(out);
      for (const text of textsOf(record))
        expect({ format, text, found: json.includes(JSON.stringify(text).slice(1, -1)) }).toEqual({ format, text, found: true });
    }
    expect(kept).toBeGreaterThan(0); // every type has at least one format that carries it whole
  });

  it('chatml keeps tools and reasoning beside the messages; alpaca refuses tool calls, naming them and chatml', () => {
    const tc = SAMPLE_RECORDS.tool_calling;
    expect(applyFormatter('chatml', tc)).toEqual({ messages: tc.messages, tools: tc.tools });
    expect(applyFormatter('chatml', SAMPLE_RECORDS.cot_structured)).toEqual(SAMPLE_RECORDS.cot_structured);
    expect(() => applyFormatter('alpaca', tc)).toThrow(
      /format "alpaca" cannot carry messages\[\]\.tool_calls\[\]\.function\.name.*tools\[\]\.function\.name.*formats that carry every field: chatml, trl/,
    );
  });

  it('grpo refuses records without reasoning instead of writing empty markers', () => {
    expect(() => applyFormatter('grpo', SAMPLE_RECORDS.basic)).toThrow(/grpo.*no chain_of_thought or reasoning_trace.*chatml, trl/);
  });

  it('a run whose format would drop fields is refused before it starts, naming the config field', () => {
    expect(() => checkFormat('sharegpt', 'tool_calling')).toThrow(
      /^output\.format: tool_calling records: format "sharegpt" cannot carry messages\[\]\.tool_calls/,
    );
    expect(() => checkFormat('harmony', 'cot_structured')).not.toThrow();
    expect(() => checkFormat('parquet', 'basic')).toThrow(/unknown format "parquet"/);
  });
});
