/**
 * What `deepfabric generate` refuses before anything starts, checked in-process (the spawned CLI
 * test in test/integration/cli.test.ts proves the wiring: exit status 2, the message on stderr).
 */
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { checkGenerate } from '../../src/client/cli/preflight';
import { ConfigurationError } from '../../src/errors';
import { GOOD_CLI_CONFIG } from '../support/fixtures';

const good = GOOD_CLI_CONFIG;

const cases: [string, string, RegExp][] = [
  ['malformed YAML', 'llm: [model: x\n  : :', /not valid YAML/],
  [
    'an unknown key, suggesting the closest',
    JSON.stringify({ ...good, output: { ...good.output, num_sample: 3 } }),
    /output\.num_sample: unknown option; did you mean "num_samples"/,
  ],
  ['a wrong type', JSON.stringify({ ...good, llm: { model: 'openai/gpt-4o-mini', temperature: 'hot' } }), /llm\.temperature: .*number/],
  ['a model without provider', JSON.stringify({ ...good, llm: { model: 'gpt4' } }), /llm\.model: model "gpt4" names no provider; write it as provider\/model/],
  ['an unknown provider', JSON.stringify({ ...good, llm: { model: 'acme/big' } }), /llm\.model: unknown provider "acme"/],
  ['a zero count', JSON.stringify({ ...good, output: { ...good.output, num_samples: 0 } }), /output\.num_samples: .*(>0|greater than 0|too small)/i],
  ['a negative batch size', JSON.stringify({ ...good, output: { ...good.output, batch_size: -2 } }), /output\.batch_size/],
  ['zero batches per slice', JSON.stringify({ ...good, generation: { ...good.generation, batches_per_slice: 0 } }), /generation\.batches_per_slice/],
  [
    'an output path escaping the data folder',
    JSON.stringify({ ...good, output: { ...good.output, save_as: '../../etc/evil.jsonl' } }),
    /output\.save_as: .*outside the current folder and the data folder/,
  ],
  [
    'a topics.save_as escaping the data folder',
    JSON.stringify({ ...good, topics: { prompt: 'Python', save_as: '../../etc/topics.jsonl' } }),
    /topics\.save_as: .*outside the current folder and the data folder/,
  ],
  [
    'a num_samples past the per-run bound',
    'llm: {model: openai/gpt-4o-mini}\ntopics: {paths: [[a, b]]}\ngeneration: {instructions: x}\noutput: {num_samples: 1e12}\n',
    /output\.num_samples: at most 1,000,000 examples per run, got 1000000000000; split/,
  ],
  [
    'a topic file that does not exist',
    JSON.stringify({ ...good, topics: { load_from: 'missing-topics.jsonl' } }),
    /topics\.load_from: missing-topics\.jsonl does not exist/,
  ],
  [
    'an unknown output format',
    JSON.stringify({ ...good, output: { ...good.output, format: 'parquet' } }),
    /output\.format: unknown format "parquet"; known formats: alpaca, chatml/,
  ],
  ['a run id with path characters', JSON.stringify({ ...good, run: { id: '../escape' } }), /runId: "\.\.\/escape" may only hold/],
  ['a config file that does not exist', '', /config file nope\.yaml does not exist/],
  [
    "a judge's minimum off its rubric item's scale",
    JSON.stringify({ ...good, quality: { judge: { rubric: [{ name: 'correctness', description: 'right?', scale: 5, min_score: 7 }] } } }),
    /quality\.judge\.rubric\[0\]: min_score: must lie on the scale/,
  ],
  [
    'a validator pattern that is not a regular expression',
    JSON.stringify({ ...good, quality: { validators: [{ type: 'regex', pattern: '(unclosed' }] } }),
    /quality\.validators\[0\]\.pattern: Invalid regular expression/,
  ],
  [
    'a judge in batch mode',
    JSON.stringify({
      ...good,
      generation: { ...good.generation, call_mode: 'batch' },
      quality: { judge: { rubric: [{ name: 'correctness', description: 'right?' }] } },
    }),
    /quality: validators and a judge run with live calls only; use callMode live/,
  ],
];

describe('generate refuses bad input before anything starts', () => {
  const home = process.cwd();
  afterEach(() => process.chdir(home));

  it.each(cases)('%s', async (name, text, message) => {
    const cwd = mkdtempSync(path.join(os.tmpdir(), 'preflight-'));
    process.chdir(cwd);
    const file = name === 'a config file that does not exist' ? 'nope.yaml' : 'config.yaml';
    if (text) writeFileSync(path.join(cwd, file), text);
    const err = await checkGenerate(file, {}, path.join(cwd, 'data')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigurationError);
    expect((err as Error).message).toMatch(message);
    // Nothing was written: no data folder, no output folder.
    expect([existsSync(path.join(cwd, 'data')), existsSync(path.join(cwd, 'out'))]).toEqual([false, false]);
  });

  it('a good config passes, with the generator it describes', async () => {
    const cwd = mkdtempSync(path.join(os.tmpdir(), 'preflight-'));
    process.chdir(cwd);
    writeFileSync(path.join(cwd, 'config.yaml'), JSON.stringify(good));
    const { cfg, gen } = await checkGenerate('config.yaml', { numSamples: '12' }, path.join(cwd, 'data'));
    expect(cfg.output.num_samples).toBe(12);
    expect(gen.validateConfiguration().filter((p) => !p.startsWith('apiKey:'))).toEqual([]);
    expect(existsSync(path.join(cwd, 'data'))).toBe(false);
  });
});
