/**
 * What `generate` and `validate` check before anything starts (no model call, no Temporal, nothing
 * written): the config and its overrides, the generator's options and template, the output paths,
 * the format against the conversation type, the run id and a topic file to load. Kept apart from the
 * commands (it installs no runtime), so its refusals are unit-tested; the CLI turns them into exit 2.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { applyOverrides, loadYamlConfig, rawSettingsOf, type GenerateOverrides, type YamlConfig } from '../../config/yaml-config';
import { checkFormat } from '../../dataset/formatters';
import { ConfigurationError } from '../../errors';
import { DataSetGenerator } from '../data-set-generator';
import { checkRunId } from '../run-builder';

/** True when `file` is strictly inside `dir`. */
function isInside(file: string, dir: string): boolean {
  const rel = path.relative(path.resolve(dir), file);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
}

/** Every file a config writes stays under the current folder or the data folder (no `../../etc`). */
export function confineOutputs(cfg: YamlConfig, dataDir: string): void {
  const outputs: [string, string | undefined][] = [
    ['output.save_as', cfg.output.save_as],
    ['topics.save_as', cfg.topics.save_as],
  ];
  for (const [field, value] of outputs) {
    if (!value) continue;
    const out = path.resolve(value);
    if (!isInside(out, process.cwd()) && !isInside(out, dataDir)) {
      throw new ConfigurationError(
        `${field}: "${value}" resolves to ${out}, outside the current folder and the data folder ${dataDir}; write it under one of them`,
      );
    }
  }
}

/**
 * The generator a config describes, with every check that needs no model call and no Temporal:
 * options, template, output paths, and the format against the conversation type. `generate` and
 * `validate` share it, so `validate` refuses exactly what `generate` would.
 */
export function checkedGenerator(cfg: YamlConfig, configFile: string, dataDir: string): DataSetGenerator {
  const g = cfg.generation;
  const gen = new DataSetGenerator({
    instructions: g.instructions,
    generationSystemPrompt: g.system_prompt,
    ...(cfg.output.system_prompt !== undefined ? { datasetSystemPrompt: cfg.output.system_prompt } : {}),
    modelName: cfg.llm.model,
    ...(cfg.llm.provider ? { provider: cfg.llm.provider } : {}),
    ...(cfg.llm.base_url ? { baseUrl: cfg.llm.base_url } : {}),
    ...(cfg.llm.max_tokens ? { maxTokens: cfg.llm.max_tokens } : {}),
    temperature: cfg.llm.temperature,
    conversationType: g.conversation.type,
    ...(g.tools ? { tools: g.tools } : {}),
    ...(g.output_schema ? { outputSchema: g.output_schema } : {}),
    ...(g.max_retries !== undefined ? { maxRetries: g.max_retries } : {}),
    ...(g.request_timeout !== undefined ? { requestTimeout: g.request_timeout } : {}),
    ...(g.concurrency !== undefined ? { concurrency: g.concurrency } : {}),
    ...(g.calls_per_batch !== undefined ? { callsPerBatch: g.calls_per_batch } : {}),
    ...(g.batches_per_slice !== undefined ? { batchesPerSlice: g.batches_per_slice } : {}),
    ...(g.budget_usd !== undefined ? { budgetUsd: g.budget_usd } : {}),
    ...(g.call_mode ? { callMode: g.call_mode } : {}),
    ...(g.batch_api
      ? {
          batchApi: {
            ...(g.batch_api.max_requests !== undefined ? { maxRequests: g.batch_api.max_requests } : {}),
            ...(g.batch_api.max_in_flight !== undefined ? { maxInFlight: g.batch_api.max_in_flight } : {}),
            ...(g.batch_api.poll_seconds !== undefined ? { pollSeconds: g.batch_api.poll_seconds } : {}),
            ...(g.batch_api.attempts !== undefined ? { attempts: g.batch_api.attempts } : {}),
            ...(g.batch_api.deadline_hours !== undefined ? { deadlineHours: g.batch_api.deadline_hours } : {}),
          },
        }
      : {}),
    ...(g.dedup ? { dedup: g.dedup } : {}),
    ...(g.pacing ? { rateLimit: g.pacing } : {}),
    ...(g.backoff?.initial !== undefined ? { initialBackoffSeconds: g.backoff.initial } : {}),
    ...(g.backoff?.max !== undefined ? { maxBackoffSeconds: g.backoff.max } : {}),
    ...(g.backoff?.multiplier !== undefined ? { backoffMultiplier: g.backoff.multiplier } : {}),
    ...(cfg.llm.price ? { price: { inputPerMTokUsd: cfg.llm.price.input_per_mtok, outputPerMTokUsd: cfg.llm.price.output_per_mtok } } : {}),
    ...(g.retry_on_errors ? { retryOnErrors: g.retry_on_errors } : {}),
    ...(g.filters ? { filters: g.filters } : {}),
    ...(g.examples ? { examples: g.examples } : {}),
    ...(g.template_vars ? { templateVars: g.template_vars } : {}),
    ...(g.seed !== undefined ? { seed: g.seed } : {}),
    ...(cfg.quality ? { quality: cfg.quality } : {}),
    dataDir,
  });
  if (g.template) gen.setCustomTemplate(g.template);
  // Key checks belong to workers (they hold the keys); field names are the YAML's.
  const yamlNames: Record<string, string> = {
    'modelName:': 'llm.model:',
    'requestTimeout:': 'generation.request_timeout:',
    'template:': 'generation.template:',
  };
  const problems = gen
    .validateConfiguration()
    .filter((p) => !p.startsWith('apiKey:'))
    .map((p) => Object.entries(yamlNames).reduce((acc, [from, to]) => (acc.startsWith(from) ? to + acc.slice(from.length) : acc), p));
  if (problems.length) throw new ConfigurationError(`${configFile} has problems:\n  ${problems.join('\n  ')}`, problems);
  confineOutputs(cfg, dataDir);
  // A format that would drop fields of this conversation type is refused before anything is paid for.
  if (cfg.output.format)
    checkFormat(cfg.output.format, g.conversation.type, {
      drop: cfg.output.drop ?? [],
      tools: !!g.tools,
      systemMessage: g.sys_msg && !!(cfg.output.system_prompt ?? g.system_prompt),
    });
  else if (cfg.output.drop?.length) throw new ConfigurationError('output.drop: only with output.format (without a format the records are written whole)');
  return gen;
}

/** Everything `generate` refuses before it starts, for the config file, its overrides and the data folder. */
export async function checkGenerate(
  configFile: string,
  overrides: GenerateOverrides & { runId?: string },
  dataDir: string,
): Promise<{ cfg: YamlConfig; gen: DataSetGenerator }> {
  const cfg = applyOverrides(await loadYamlConfig(configFile, rawSettingsOf(overrides)), overrides);
  const gen = checkedGenerator(cfg, configFile, dataDir);
  const runId = overrides.runId ?? cfg.run.id;
  if (runId) checkRunId(runId);
  if (cfg.topics.load_from && !existsSync(path.resolve(cfg.topics.load_from))) {
    throw new ConfigurationError(`topics.load_from: ${cfg.topics.load_from} does not exist (resolved to ${path.resolve(cfg.topics.load_from)})`);
  }
  return { cfg, gen };
}
