/**
 * DeepFabric 4.x configs in their documented form (small sizes), and the local model's side of the
 * agent config: shared by the config test (`test/integration/deepfabric-configs.test.ts`) and the
 * conformance test that checks what they write with DeepFabric's own code (`test/conformance`).
 */
import type { RecordSchemas } from '../../src/dataset/example-schemas';

/**
 * The model's side of an agent example with tools: read the seeded file, then write what the read
 * returned (taken from the prompt, where the worker put the real result) and ask the time, then answer.
 */
export function agentModel(call: { prompt: string }): unknown {
  const m = /Give step (\d+)|Step (\d+) is the last/.exec(call.prompt);
  if (!m || !call.prompt.includes('Tools:\n- read_file')) return undefined;
  const step = Number(m[1] ?? m[2]);
  const read = /called read_file\(.*\n {2}result: (.*)/.exec(call.prompt)?.[1] ?? '';
  const answer = (o: object) => ({ question: '', thought: `step ${step}`, tool_calls: [], is_final: false, final_answer: '', ...o });
  const topic = /Topic: (.*)/.exec(call.prompt)?.[1] ?? '';
  if (step === 1)
    return answer({
      question: `Copy notes.txt to copy.txt and tell me the time in UTC (${topic})`,
      tool_calls: [{ function_name: 'read_file', arguments_json: '{"file_path":"notes.txt"}', reasoning: 'see the notes' }],
    });
  if (step === 2) {
    return answer({
      tool_calls: [
        { function_name: 'write_file', arguments_json: JSON.stringify({ file_path: 'copy.txt', content: read }), reasoning: 'make the copy' },
        { function_name: 'get_time', arguments_json: '{"zone":"UTC"}', reasoning: 'the user asked the time' },
      ],
    });
  }
  return answer({ is_final: true, final_answer: `Copied "${read}" to copy.txt.` });
}

// Written as DeepFabric 4.x documents them; only names and sizes are small for the test.
export const configs: [string, string, keyof typeof RecordSchemas, string[]][] = [
  [
    'tree topics, one top-level llm',
    `llm:
  provider: openai
  model: gpt-4o-mini
  temperature: 0.7
topics:
  prompt: "Python programming"
  mode: tree
  depth: 2
  degree: 2
  save_as: tree-topics.jsonl
generation:
  system_prompt: "Generate clear, educational Q&A pairs."
  instructions: "Create diverse questions and detailed answers."
  conversation:
    type: basic
  max_retries: 2
output:
  system_prompt: "You are a helpful Python tutor."
  include_system_message: true
  num_samples: 4
  batch_size: 2
  save_as: tree.jsonl
`,
    'basic',
    [],
  ],
  [
    'graph topics with prompt_style',
    `llm: { provider: openai, model: gpt-4o-mini }
topics:
  prompt: "Distributed systems"
  mode: graph
  prompt_style: isolated
  depth: 2
  degree: 2
  max_concurrent: 4
  save_as: graph-topics.json
generation:
  system_prompt: "Write training data."
  instructions: "Explain one concept per example."
output:
  num_samples: auto
  batch_size: 2
  save_as: graph.jsonl
`,
    'basic',
    ['topics.prompt_style'],
  ],
  [
    'cot with freetext reasoning',
    `llm: { provider: openai, model: gpt-4o-mini }
topics: { prompt: "Arithmetic word problems", depth: 1, degree: 3 }
generation:
  system_prompt: "You write math problems with worked reasoning."
  conversation:
    type: cot
    reasoning_style: freetext
  sample_retries: 2
  max_tokens: 2000
output:
  num_samples: 3
  batch_size: 3
  save_as: cot.jsonl
`,
    'chain_of_thought',
    ['generation.sample_retries'],
  ],
  [
    'an agent with tools',
    `llm: { provider: openai, model: gpt-4o-mini }
topics: { prompt: "File operations", depth: 1, degree: 2 }
generation:
  system_prompt: "You write agent traces."
  conversation: { type: cot, reasoning_style: agent }
  tools:
    components: { builtin: [read_file, write_file] }
    custom:
      - name: get_time
        description: "The time in a time zone"
        parameters: [{ name: zone, type: str, description: "IANA zone" }]
        returns: "The local time"
        mock_response: "It is noon in {{zone}}"
    scenario_seed: { files: { "notes.txt": "buy milk" } }
    max_per_query: 3
    max_agent_steps: 5
output:
  num_samples: 2
  batch_size: 1
  save_as: agent.jsonl
`,
    'agent',
    [],
  ],
  [
    'per-stage llm: topics on gemini, generation on openai',
    `topics:
  prompt: "Cooking"
  depth: 1
  degree: 3
  llm: { provider: gemini, model: gemini-2.5-flash, temperature: 0.8 }
generation:
  system_prompt: "Write cooking Q&A."
  llm: { provider: openai, model: gpt-4o-mini, temperature: 0.7 }
output:
  num_samples: "100%"
  batch_size: 3
  save_as: stages.jsonl
`,
    'basic',
    [],
  ],
  [
    'a huggingface section and a checkpoint',
    `llm: { provider: anthropic, model: claude-3-5-haiku-latest }
topics: { prompt: "Geography", depth: 1, degree: 2 }
generation: { system_prompt: "Write geography questions." }
output:
  num_samples: 2
  batch_size: 2
  save_as: hf.jsonl
  checkpoint: { interval: 10, retry_failed: true }
huggingface:
  repository: someone/geography
  tags: [deepfabric]
`,
    'basic',
    ['output.checkpoint'],
  ],
];
