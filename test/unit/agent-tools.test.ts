import { mkdtempSync, writeFileSync } from 'node:fs';
import { spinVfs } from '../support/spin-vfs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { agentRecord, agentStepPrompt, applyAgentStep, type AgentProgress } from '../../src/activities/agent-loop';
import { loadYamlConfig } from '../../src/config/yaml-config';
import { RecordSchemas } from '../../src/dataset/example-schemas';
import { ModelError } from '../../src/errors';
import { BUILTIN_TOOLS, executeTool, seedSpinSession, ToolCallError, ToolSession, ToolsSettingsSchema, type ToolsSettings } from '../../src/tools/tools';

const ping = {
  name: 'ping',
  description: 'Ping a host',
  parameters: [{ name: 'host', type: 'str' as const, description: 'h', required: true }],
  returns: 'latency',
  category: 'net',
  mock_response: { host: '{{host}}', ms: 12 },
};
const settings = (over: Partial<ToolsSettings> = {}): ToolsSettings =>
  ToolsSettingsSchema.parse({ tools: [...BUILTIN_TOOLS, ping], seedFiles: { 'a.txt': 'alpha' }, ...over });

describe('tool execution', () => {
  test('the builtin file system: one per session, seeded, and changed only by the calls', async () => {
    const s = settings();
    const one = new ToolSession('one', s.seedFiles);
    const two = new ToolSession('two', s.seedFiles);
    expect(await executeTool(s, one, 'read_file', '{"file_path":"a.txt"}')).toBe('alpha');
    expect(await executeTool(s, one, 'write_file', '{"file_path":"b.txt","content":"beta"}')).toBe('Wrote 4 bytes to b.txt');
    expect(await executeTool(s, one, 'list_files', '{}')).toBe('["a.txt","b.txt"]');
    expect(await executeTool(s, two, 'list_files', '{}')).toBe('["a.txt"]');
    expect(await executeTool(s, one, 'delete_file', '{"file_path":"a.txt"}')).toBe('Deleted a.txt');
    expect(await executeTool(s, one, 'read_file', '{"file_path":"a.txt"}')).toBe('Error: file not found: a.txt');
  });

  test("a custom tool answers with its mock_response, filled from the arguments; a wrong call is the model's error", async () => {
    const s = settings();
    const session = new ToolSession('x', {});
    expect(await executeTool(s, session, 'ping', '{"host":"example.org"}')).toBe('{"host":"example.org","ms":12}');
    await expect(executeTool(s, session, 'pong', '{}')).rejects.toThrow(
      new ToolCallError('unknown tool "pong"; the tools are read_file, write_file, list_files, delete_file, ping'),
    );
    await expect(executeTool(s, session, 'ping', '{}')).rejects.toThrow('ping needs host');
    await expect(executeTool(s, session, 'ping', '[1]')).rejects.toThrow('arguments of ping must be a JSON object');
  });

  test('with spin_endpoint every tool runs in the Spin service, routed by component as DeepFabric does', async () => {
    const seen: { url: string; body: unknown }[] = [];
    const server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        seen.push({ url: req.url!, body: JSON.parse(body) });
        const args = (JSON.parse(body) as { args: Record<string, string> }).args;
        if (args.host === 'down') {
          res.writeHead(503).end('busy');
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(args.host === 'nowhere' ? { success: false, error: 'no such host' } : { success: true, result: `ran at ${req.url}` }));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const spinEndpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const s = settings({ spinEndpoint });
      const session = new ToolSession('sess-1', {});
      expect(await executeTool(s, session, 'read_file', '{"file_path":"a.txt"}')).toBe('ran at /vfs/execute');
      expect(await executeTool(s, session, 'ping', '{"host":"h"}')).toBe('ran at /mock/execute');
      expect(await executeTool(s, session, 'ping', '{"host":"nowhere"}')).toBe('Error: no such host');
      await expect(executeTool(s, session, 'ping', '{"host":"down"}')).rejects.toThrow(/answered 503/);
      expect(await executeTool(settings({ spinEndpoint, toolExecutePath: '/custom/run' }), session, 'ping', '{"host":"h"}')).toBe('ran at /custom/run');
      expect(seen[0]).toEqual({ url: '/vfs/execute', body: { session_id: 'sess-1', tool: 'read_file', args: { file_path: 'a.txt' } } });
    } finally {
      server.close();
    }
  });
});

describe('Spin as DeepFabric uses it', () => {
  const step = (o: object) => ({ question: '', thought: 'look', tool_calls: [], is_final: false, final_answer: '', ...o });
  const read = (file: string) => ({ function_name: 'read_file', arguments_json: JSON.stringify({ file_path: file }), reasoning: `read ${file}` });

  test("scenario_seed is written into the example's Spin session before its first step; a missing file's record holds Spin's own error text", async () => {
    const spin = await spinVfs();
    try {
      const s = settings({ spinEndpoint: spin.endpoint, seedFiles: { 'notes.txt': 'buy milk' } });
      const session = new ToolSession('run-0-3', s.seedFiles);
      await seedSpinSession(s, session);
      expect(spin.calls).toEqual([{ session_id: 'run-0-3', tool: 'write_file', args: { file_path: 'notes.txt', content: 'buy milk' } }]);
      const progress: AgentProgress = { steps: [], inputTokens: 0, outputTokens: 0 };
      await applyAgentStep(
        step({ question: 'What do the notes say, and main.py?', tool_calls: [read('notes.txt'), read('main.py')] }),
        progress,
        s,
        session,
        'openai',
      );
      await applyAgentStep(step({ is_final: true, final_answer: 'Buy milk; there is no main.py.' }), progress, s, session, 'openai');
      const rec = agentRecord(progress, s, { sysMsg: false, systemPrompt: '', idSeed: 'r/0' }) as { tool_context: { executions: { result: string }[] } };
      expect(rec.tool_context.executions.map((e) => e.result)).toEqual(['buy milk', 'File not found: main.py']);
    } finally {
      spin.close();
    }
  });

  test('a Spin session that cannot be seeded fails the call (the batch is retried), never a step on an empty file system', async () => {
    const s = settings({ spinEndpoint: 'http://127.0.0.1:9', seedFiles: { 'a.txt': 'x' } });
    await expect(seedSpinSession(s, new ToolSession('x', {}))).rejects.toThrow();
  });
});

describe('tool arguments DeepFabric refuses', () => {
  const weather = {
    name: 'get_weather',
    description: 'Weather forecast',
    parameters: [
      { name: 'city', type: 'str' as const, description: 'city', required: true },
      { name: 'days', type: 'int' as const, description: 'days ahead', required: false },
    ],
    returns: 'forecast',
    category: 'web',
    mock_response: 'Sunny in {{city}}',
  };
  test("a null or empty optional argument fails the step with DeepFabric's reason (the step is asked again); left out, it runs", async () => {
    const s = ToolsSettingsSchema.parse({ tools: [weather] });
    const session = new ToolSession('w', {});
    await expect(executeTool(s, session, 'get_weather', '{"city":"Oslo","days":null}')).rejects.toThrow(
      new ToolCallError("Argument 'days' of get_weather is null - must provide actual value (leave an optional argument out instead)"),
    );
    await expect(executeTool(s, session, 'get_weather', '{"city":"Oslo","days":""}')).rejects.toThrow(/Argument 'days' of get_weather is empty string/);
    expect(await executeTool(s, session, 'get_weather', '{"city":"Oslo"}')).toBe('Sunny in Oslo');
    const progress: AgentProgress = { steps: [], inputTokens: 0, outputTokens: 0 };
    const call = { function_name: 'get_weather', arguments_json: '{"city":"Oslo","days":null}', reasoning: 'forecast' };
    await expect(
      applyAgentStep({ question: 'Weather?', thought: 't', tool_calls: [call], is_final: false, final_answer: '' }, progress, s, session, 'openai'),
    ).rejects.toMatchObject({ category: 'validation_error', message: expect.stringContaining("Argument 'days' of get_weather is null") });
    expect(progress.steps).toEqual([]);
  });
});

describe('an agent example', () => {
  const step = (o: object) => ({ question: '', thought: 'think', tool_calls: [], is_final: false, final_answer: '', ...o });
  const call = (function_name: string, args: object) => ({ function_name, arguments_json: JSON.stringify(args), reasoning: `to ${function_name}` });

  async function run(s: ToolsSettings, answers: object[]): Promise<AgentProgress> {
    const progress: AgentProgress = { steps: [], inputTokens: 0, outputTokens: 0 };
    const session = new ToolSession('t', s.seedFiles);
    for (const a of answers) await applyAgentStep(a, progress, s, session, 'openai');
    return progress;
  }

  test('steps execute their calls; the record carries the executed results in messages, reasoning and tool_context', async () => {
    const s = settings();
    const p = await run(s, [
      step({ question: 'What is in a.txt?', tool_calls: [call('read_file', { file_path: 'a.txt' })] }),
      step({ thought: 'I have it', is_final: true, final_answer: 'It says alpha.' }),
    ]);
    expect(p.final).toBe('It says alpha.');
    const rec = agentRecord(p, s, { sysMsg: true, systemPrompt: 'SYS', idSeed: 'run/0' }) as Record<string, unknown>;
    expect(RecordSchemas.agent.safeParse(rec).success).toBe(true);
    const id = (rec.messages as { tool_calls?: { id: string }[] }[])[2]!.tool_calls![0]!.id;
    expect(id).toMatch(/^[A-Za-z0-9]{9}$/);
    expect(rec).toEqual({
      messages: [
        { role: 'system', content: 'SYS' },
        { role: 'user', content: 'What is in a.txt?' },
        { role: 'assistant', content: '', tool_calls: [{ id, type: 'function', function: { name: 'read_file', arguments: '{"file_path":"a.txt"}' } }] },
        { role: 'tool', content: 'alpha', tool_call_id: id },
        { role: 'assistant', content: 'It says alpha.' },
      ],
      reasoning: {
        style: 'agent',
        content: [
          { step_number: 1, thought: 'think', action: 'read_file({"file_path":"a.txt"})' },
          { step_number: 2, thought: 'I have it', action: 'Ready to respond to user' },
        ],
      },
      tool_context: { executions: [{ function_name: 'read_file', arguments: '{"file_path":"a.txt"}', reasoning: 'to read_file', result: 'alpha' }] },
      // DeepFabric 4.13's tool_inclusion_strategy used_only: the tools this example called, not ping.
      tools: [expect.objectContaining({ type: 'function', function: expect.objectContaining({ name: 'read_file' }) })],
      agent_context: { mode: 'single_turn' },
      question: 'What is in a.txt?',
      final_answer: 'It says alpha.',
      metadata: { conversation_type: 'cot', react_steps: 2 },
    });
    // tool_inclusion_strategy all: every tool of the run.
    const all = agentRecord(p, { ...s, toolInclusion: 'all' }, { sysMsg: true, systemPrompt: 'SYS', idSeed: 'run/0' }) as {
      tools: { function: { name: string } }[];
    };
    expect(all.tools.map((t) => t.function.name)).toEqual(s.tools.map((t) => t.name));
    expect(s.tools.map((t) => t.name)).toContain('ping');
    // The same example gives the same ids (a resumed example keeps them).
    expect(agentRecord(p, s, { sysMsg: true, systemPrompt: 'SYS', idSeed: 'run/0' })).toEqual(rec);
  });

  test('wrong steps are validation errors naming the step; the last allowed step must answer', async () => {
    const s = settings({ maxAgentSteps: 2 });
    await expect(run(s, [step({ question: 'q', tool_calls: [call('nope', {})] })])).rejects.toThrow(
      new ModelError('agent step 1: unknown tool "nope"; the tools are read_file, write_file, list_files, delete_file, ping', {
        category: 'validation_error',
        provider: 'openai',
      }),
    );
    await expect(run(s, [step({ tool_calls: [] })])).rejects.toThrow('agent step 1: "question" is empty');
    await expect(run(s, [step({ question: 'q' }), step({ tool_calls: [call('ping', { host: 'h' })] })])).rejects.toThrow(
      'agent step 2: "final_answer" is empty',
    );
    const p: AgentProgress = {
      question: 'q',
      steps: [{ thought: 't', calls: [{ function_name: 'ping', arguments: '{"host":"h"}', reasoning: 'r', result: 'R' }] }],
      inputTokens: 0,
      outputTokens: 0,
    };
    const prompt = agentStepPrompt({ instructions: 'Be useful.', topicPath: ['Net', 'Ping'], tools: s, progress: p, previousError: 'bad' });
    expect(prompt).toContain('Topic: Net -> Ping');
    expect(prompt).toContain('called ping({"host":"h"}) because r\n  result: R');
    expect(prompt).toContain('Step 2 is the last: set "is_final" to true');
    expect(prompt).toContain('Your previous answer was rejected: bad.');
  });

  test('more executions than max_per_query: dropped when strict, cut to the limit otherwise', async () => {
    const answers = [
      step({ question: 'q', tool_calls: [call('ping', { host: 'a' }), call('ping', { host: 'b' })] }),
      step({ tool_calls: [call('ping', { host: 'c' })] }),
      step({ is_final: true, final_answer: 'done' }),
    ];
    const strict = settings({ maxPerQuery: 2 });
    expect(agentRecord(await run(strict, answers), strict, { sysMsg: false, systemPrompt: '', idSeed: 's' })).toBeUndefined();
    const loose = settings({ maxPerQuery: 2, strict: false });
    const rec = agentRecord(await run(loose, answers), loose, { sysMsg: false, systemPrompt: '', idSeed: 's' }) as {
      tool_context: { executions: { arguments: string }[] };
      messages: { role: string }[];
    };
    expect(rec.tool_context.executions.map((e) => e.arguments)).toEqual(['{"host":"a"}', '{"host":"b"}']);
    expect(rec.messages.filter((m) => m.role === 'tool')).toHaveLength(2);
  });
});

describe('tools of Spin components, listed at tools_endpoint', () => {
  test('loadYamlConfig reads their definitions (MCP tools/list) and routes them to /{component}/execute; a missing tool or endpoint is refused naming the field', async () => {
    const server = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          tools: [
            {
              name: 'gh_list_issues',
              description: 'List issues',
              inputSchema: {
                type: 'object',
                properties: { repo: { type: 'string', description: 'owner/name' }, limit: { type: 'integer' } },
                required: ['repo'],
              },
            },
            { name: 'other', description: 'x' },
          ],
        }),
      );
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const dir = mkdtempSync(path.join(os.tmpdir(), 'tools-endpoint-'));
    const config = (names: string, endpoint = `${url}/mock/list-tools`) => {
      const file = path.join(dir, `c${Math.random().toString(36).slice(2)}.yaml`);
      writeFileSync(
        file,
        `llm: {model: openai/x}\ntopics: {paths: [[a]]}\ngeneration:\n  conversation: {type: cot, reasoning_style: agent}\n  tools: {spin_endpoint: "${url}", tools_endpoint: "${endpoint}", components: {builtin: [read_file], github: [${names}]}}\noutput: {num_samples: 1}\n`,
      );
      return file;
    };
    try {
      const cfg = await loadYamlConfig(config('gh_list_issues'));
      expect(cfg.generation.tools!.tools.map((t) => [t.name, t.component])).toEqual([
        ['read_file', 'builtin'],
        ['gh_list_issues', 'github'],
      ]);
      expect(cfg.generation.tools!.tools[1]!.parameters).toEqual([
        { name: 'repo', type: 'str', description: 'owner/name', required: true },
        { name: 'limit', type: 'int', description: '', required: false },
      ]);
      await expect(loadYamlConfig(config('gh_nope'))).rejects.toThrow(
        /generation\.tools\.components\.github: .* lists no tool "gh_nope"; it lists gh_list_issues, other/,
      );
      await expect(loadYamlConfig(config('gh_list_issues', 'http://127.0.0.1:1/list'))).rejects.toThrow(
        /generation\.tools\.tools_endpoint: cannot read tool definitions from http:\/\/127\.0\.0\.1:1\/list/,
      );
    } finally {
      server.close();
    }
  });
});
