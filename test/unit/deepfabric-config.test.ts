/**
 * DeepFabric 4.x configs as they are (issue 12): optional top-level llm with per-stage llm blocks,
 * its topics/generation/output keys, integrations accepted with a warning, unknown keys suggested
 * from their own section, and the generate flags that override the file.
 */
import { applyOverrides, parseYamlConfig, resolveNumSamples } from '../../src/config/yaml-config';
import { configIssues } from '../support/config-issues';

// DeepFabric 4.x's own config template, in its documented form (no top-level llm).
const template = `
topics:
  prompt: "Python programming"
  mode: graph
  prompt_style: anchored
  system_prompt: "Organise the subject."
  depth: 3
  degree: 3
  max_concurrent: 4
  save_as: "topics.jsonl"
  llm:
    provider: "gemini"
    model: "gemini-2.5-flash"
    temperature: 0.8
generation:
  system_prompt: "Generate clear, educational Q&A pairs."
  instructions: "Create diverse questions and detailed answers."
  conversation:
    type: cot
    reasoning_style: freetext
  max_retries: 3
  sample_retries: 2
  max_tokens: 2000
  rate_limit: { requests_per_minute: 60 }
  llm:
    provider: "openai"
    model: "gpt-4o-mini"
    temperature: 0.7
output:
  system_prompt: |
    You are a helpful AI assistant.
  include_system_message: true
  num_samples: 50
  batch_size: 5
  save_as: "dataset.jsonl"
  checkpoint: { interval: 10 }
huggingface:
  repository: "someone/dataset"
  tags: [deepfabric, synthetic]
`;

const issuesOf = configIssues;

describe('a DeepFabric 4.x config', () => {
  it('is accepted as it is, each stage with its own model, keys mapped to their meaning here', () => {
    const c = parseYamlConfig(template);
    expect(c.topicsLlm).toEqual({ provider: 'gemini', model: 'gemini-2.5-flash', temperature: 0.8 });
    expect(c.llm).toEqual({ provider: 'openai', model: 'gpt-4o-mini', temperature: 0.7, max_tokens: 2000 });
    expect(c.topics).toMatchObject({ mode: 'graph', concurrency: 4, system_prompt: 'Organise the subject.', depth: 3, degree: 3 });
    expect(c.generation.conversation.type).toBe('chain_of_thought');
    expect(c.generation.calls_per_batch).toBe(5); // DeepFabric's batch_size: parallel one-sample calls
    expect(c.output.samples_per_call).toBe(1);
    expect(c.output.system_prompt).toBe('You are a helpful AI assistant.\n');
    expect(c.generation.sys_msg).toBe(true);
  });

  it('warns once for each DeepFabric key that has no effect here, naming it', () => {
    const c = parseYamlConfig(template);
    const named = c.warnings.map((w) => w.split(/[: ]/)[0]);
    expect(named.sort()).toEqual(['generation.sample_retries', 'output.checkpoint', 'topics.prompt_style'].sort());
    expect(c.huggingface).toEqual({ repository: 'someone/dataset', tags: ['deepfabric', 'synthetic'] });
    for (const w of c.warnings) expect(w).toMatch(/accepted, no effect: \S/);
  });

  it("rate_limit: DeepFabric's retry keys become the retry policy; requests_per_minute paces the calls", () => {
    const c = parseYamlConfig(
      template.replace(
        'rate_limit: { requests_per_minute: 60 }',
        'rate_limit: { requests_per_minute: 60, burst: 4, base_delay: 2.0, max_delay: 120, exponential_base: 3, jitter: true }',
      ),
    );
    expect(c.generation.pacing).toEqual({ requestsPerMinute: 60, burst: 4 });
    expect(c.generation.backoff).toEqual({ initial: 2, max: 120, multiplier: 3 });
    expect(c.warnings.filter((w) => w.startsWith('generation.rate_limit'))).toEqual([
      expect.stringMatching(/^generation\.rate_limit\.jitter: accepted, no effect/),
    ]);
    expect(issuesOf(template.replace('rate_limit: { requests_per_minute: 60 }', 'rate_limit: { max_retries: 9 }'))).toEqual([
      'generation.rate_limit.max_retries: contradicts generation.max_retries; keep one',
    ]);
    expect(issuesOf(template.replace('rate_limit: { requests_per_minute: 60 }', 'rate_limit: { request_per_minute: 60 }'))).toEqual([
      'generation.rate_limit.request_per_minute: unknown option; did you mean "requests_per_minute"?',
    ]);
  });

  it('a top-level llm serves every stage; a stage block overrides it field by field', () => {
    const c = parseYamlConfig(`
llm: { provider: openai, model: gpt-4o, temperature: 0.2 }
topics: { prompt: P, llm: { model: gpt-4o-mini } }
output: { num_samples: 4 }
`);
    expect(c.llm).toEqual({ provider: 'openai', model: 'gpt-4o', temperature: 0.2 });
    expect(c.topicsLlm).toEqual({ provider: 'openai', model: 'gpt-4o-mini', temperature: 0.2 });
  });

  it('no model for a stage: names the stage and both ways to set it', () => {
    expect(issuesOf('topics: { paths: [[a]] }\noutput: { num_samples: 2 }\n')).toContain(
      'generation.llm.model: missing; set llm.model (for every stage) or generation.llm.model, e.g. "openai/gpt-4o-mini"',
    );
  });

  it('maps cot reasoning styles to DeepFabric 4.x record types; structured and hybrid are agent, with a warning, as in 4.x', () => {
    const parse = (style: string) =>
      parseYamlConfig(
        `llm: {model: openai/x}\ntopics: {paths: [[a]]}\ngeneration: {conversation: {type: cot, reasoning_style: ${style}}}\noutput: {num_samples: 1}\n`,
      );
    expect(parse('freetext').generation.conversation.type).toBe('chain_of_thought');
    expect(parse('agent').generation.conversation.type).toBe('agent');
    for (const style of ['structured', 'hybrid']) {
      const c = parse(style);
      expect(c.generation.conversation.type).toBe('agent');
      expect(c.warnings).toEqual([
        `generation.conversation.reasoning_style ${style}: deprecated in DeepFabric 4.x, which writes it as agent; so does this tool`,
      ]);
    }
  });

  it('generation.tools: builtin and custom tools resolved with their limits; what cannot be executed is refused, naming the field', () => {
    const agent = (tools: string) =>
      `llm: {model: openai/x}\ntopics: {paths: [[a]]}\ngeneration:\n  conversation: {type: cot, reasoning_style: agent}\n  tools: ${tools}\noutput: {num_samples: 1}\n`;
    const c = parseYamlConfig(
      agent(
        '{components: {builtin: null}, custom: [{name: ping, description: "Ping a host", parameters: [{name: host, type: str, description: h}], mock_response: {ok: "{{host}}"}}], max_agent_steps: 3, strict: false, scenario_seed: {files: {a.txt: hi}}}',
      ),
    );
    expect(c.generation.tools).toMatchObject({ maxPerQuery: 3, maxAgentSteps: 3, strict: false, seedFiles: { 'a.txt': 'hi' } });
    expect(c.generation.tools!.tools.map((t) => t.name)).toEqual(['read_file', 'write_file', 'list_files', 'delete_file', 'ping']);
    expect(issuesOf(agent('{components: {builtin: [read_fil]}}'))).toEqual([
      'generation.tools.components.builtin: unknown tool "read_fil"; the builtin tools are read_file, write_file, list_files, delete_file',
    ]);
    expect(issuesOf(agent('{custom: [{name: ping, description: x}]}'))).toEqual([
      'generation.tools.custom[0] (ping): no mock_response and no spin_endpoint, so nothing could execute it; give it a mock_response (placeholders {{arg}}) or set generation.tools.spin_endpoint',
    ]);
    expect(parseYamlConfig(agent('{spin_endpoint: "http://localhost:3000", custom: [{name: ping, description: x}]}')).generation.tools!.spinEndpoint).toBe(
      'http://localhost:3000',
    );
    expect(issuesOf(agent('{components: {github: [gh_list_issues]}}'))).toEqual([
      'generation.tools.components.github: needs tools_endpoint (where its tool definitions are listed) and spin_endpoint (where they run), as in DeepFabric; or define the tools under generation.tools.custom with a mock_response',
    ]);
    expect(issuesOf(agent('{custom: [{name: "bad name", description: x, mock_response: y}]}')).join()).toMatch(
      /^generation\.tools\.custom\[0\] \(bad name\)\.name: a function name/,
    );
    // Tools on a conversation type that calls none: accepted with a warning, not silently.
    const basic = parseYamlConfig(agent('{components: {builtin: null}}').replace('{type: cot, reasoning_style: agent}', '{type: basic}'));
    expect(basic.generation.tools).toBeUndefined();
    expect(basic.warnings.join()).toMatch(/generation\.tools: accepted, no effect: tools are called by agent examples/);
  });

  it('an unknown key gets a suggestion from its own section only', () => {
    const issues = issuesOf(template.replace('  max_concurrent: 4', '  system_promt: x'));
    expect(issues).toEqual(['topics.system_promt: unknown option; did you mean "system_prompt"?']);
    expect(issuesOf(template.replace('  degree: 3\n  max', '  degre: 3\n  max'))).toEqual(['topics.degre: unknown option; did you mean "degree"?']);
    // "num_sample" is close to output's num_samples, and nothing of another section is offered.
    expect(issuesOf(template.replace('num_samples: 50', 'num_sample: 50')).join()).toMatch(/output\.num_sample: unknown option; did you mean "num_samples"\?/);
  });

  it('num_samples may be auto or a percentage of the topic paths', () => {
    expect(resolveNumSamples(parseYamlConfig(template.replace('num_samples: 50', 'num_samples: auto')).output.num_samples, 27)).toBe(27);
    expect(resolveNumSamples(parseYamlConfig(template.replace('num_samples: 50', 'num_samples: "50%"')).output.num_samples, 27)).toBe(13); // rounded down, as DeepFabric (int(27 * 0.5))
    expect(issuesOf(template.replace('num_samples: 50', 'num_samples: lots')).join()).toMatch(/output\.num_samples/);
  });

  it('refuses a key given twice under its two names', () => {
    expect(issuesOf(template.replace('  max_retries: 3', '  max_retries: 3\n  calls_per_batch: 2'))).toContain(
      "output.batch_size: DeepFabric's batch_size (parallel calls) is generation.calls_per_batch here; keep one",
    );
  });
});

describe('generate flags override the file', () => {
  it('model, count, batch size, topics and outputs', () => {
    const c = applyOverrides(parseYamlConfig(template), { model: 'openai/other', numSamples: '12', batchSize: '3', depth: '2', outputSaveAs: 'x.jsonl' });
    expect(c.llm.model).toBe('openai/other');
    expect(c.topicsLlm!.model).toBe('openai/other');
    expect(c.output.num_samples).toBe(12);
    expect(c.generation.calls_per_batch).toBe(3);
    expect(c.topics.depth).toBe(2);
    expect(c.output.save_as).toBe('x.jsonl');
    const loaded = applyOverrides(parseYamlConfig(template), { topicsLoad: 't.jsonl', numSamples: 'auto' });
    expect(loaded.topics).toMatchObject({ load_from: 't.jsonl' });
    expect(loaded.topics.prompt).toBeUndefined();
    expect(loaded.topicsLlm).toBeUndefined();
    expect(loaded.output.num_samples).toBe('auto');
  });

  it('a bad flag is named by its flag', () => {
    expect(() => applyOverrides(parseYamlConfig(template), { numSamples: 'many', depth: '99' })).toThrow(
      /--num-samples: .*"many"[\s\S]*--depth: expected an integer from 1 to 10, got "99"/,
    );
  });
});

describe('keys DeepFabric 4.13 accepts are never refused here (issue 19)', () => {
  it('output.formatters and a misplaced generation.scenario_seed: accepted, one warning each naming what they do', () => {
    const c = parseYamlConfig(`
llm: { provider: openai, model: gpt-4o-mini }
topics: { prompt: "Files", mode: tree, depth: 1, degree: 2 }
generation:
  system_prompt: "Write traces."
  scenario_seed: { files: { "a.txt": "x" } }
output:
  num_samples: 2
  save_as: out.jsonl
  formatters:
    - { name: trl, template: builtin://trl_sft_tools }
`);
    expect(c.warnings).toEqual([
      'output.formatters: accepted, no effect: DeepFabric 4.x has no formatters (removed in 4.0) and ignores this list; output.format names one formatter here',
      'generation.scenario_seed: accepted, no effect: ignored, as DeepFabric ignores it here; seed files belong under generation.tools.scenario_seed',
    ]);
    expect(c.output.format).toBeUndefined();
  });

  it('output.format messages is the records as they are; generation.output_schema makes custom records (format custom or not), checked; custom alone warns', () => {
    const base = `llm: { model: openai/gpt-4o-mini }\ntopics: { paths: [[a]] }\noutput:\n  num_samples: 1\n  save_as: o.jsonl\n`;
    const messages = parseYamlConfig(`${base}  format: messages\n`);
    expect(messages.output.format).toBeUndefined();
    expect(messages.warnings).toEqual([]);
    const alone = parseYamlConfig(`${base}  format: custom\n`);
    expect(alone.output.format).toBeUndefined();
    expect(alone.warnings).toEqual([expect.stringMatching(/^output\.format custom: no effect without generation\.output_schema \(as in DeepFabric\)/)]);
    const schema = '{type: object, properties: {question: {type: string}, answer: {type: string}}, required: [question, answer]}';
    const custom = parseYamlConfig(`${base}  format: custom\ngeneration:\n  output_schema: ${schema}\n`);
    expect(custom.generation.output_schema).toEqual({
      type: 'object',
      properties: { question: { type: 'string' }, answer: { type: 'string' } },
      required: ['question', 'answer'],
    });
    expect(custom.warnings).toEqual([]);
    expect(issuesOf(`${base}  format: custom\ngeneration:\n  output_schema: {type: string}\n`)).toEqual([
      'generation.output_schema: must describe a JSON object (type: object, with properties); each record is one such object',
    ]);
    expect(issuesOf(`${base}  format: alpaca\ngeneration:\n  output_schema: ${schema}\n`)).toEqual([
      'output.format alpaca: records of generation.output_schema are written as they are (output.format custom); a formatter cannot shape them',
    ]);
  });

  it("DeepFabric's defaults: a graph of depth 3 and degree 10, 3 samples", () => {
    const c = parseYamlConfig(`llm: { model: openai/gpt-4o-mini }\ntopics: { prompt: "Cooking" }\noutput: { save_as: o.jsonl }\n`);
    expect(c.topics).toMatchObject({ mode: 'graph', depth: 3, degree: 10 });
    expect(c.output.num_samples).toBe(3);
  });
});
