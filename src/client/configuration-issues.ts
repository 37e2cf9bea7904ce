/**
 * `DataSetGenerator.validateConfiguration`: every problem that would hurt or stop a run, one message
 * each ("field: what; what to do"). Pure: the options, the active template and an environment in.
 */
import { formatIssues, GeneratorOptionsSchema, type GeneratorOptionsInput } from '../config/generator-options';
import { parseModelName, PROVIDERS } from '../config/model-spec';
import { unknownVariables } from '../prompts/template';
import { batchModeProblems, qualitySettings, resolveModel } from './run-builder';

/** Checks the options, the model string, the API key in `env` (the worker's, in embedded mode) and the template's variables. */
export function configurationIssues(raw: GeneratorOptionsInput, template: string, env: NodeJS.ProcessEnv): string[] {
  const issues: string[] = [];
  const parsed = GeneratorOptionsSchema.safeParse(raw);
  if (!parsed.success) issues.push(...formatIssues(parsed.error, Object.keys(GeneratorOptionsSchema.shape)));
  const opts = parsed.success ? parsed.data : undefined;
  const modelName = raw.modelName ?? raw.model;
  if (!modelName) issues.push('modelName: missing; set it to provider/model, e.g. "openai/gpt-4o-mini"');
  else if (opts) {
    try {
      const spec = resolveModel(opts);
      if (opts.quality) qualitySettings(opts.quality, spec, issues);
      if (opts.callMode === 'batch') issues.push(...batchModeProblems(spec.provider, opts));
      const def = PROVIDERS[spec.provider];
      if (def.keyRequired && !env[def.keyEnv] && !('altKeyEnv' in def && env[def.altKeyEnv])) {
        issues.push(`apiKey: ${def.keyEnv} is not set in this process's environment; ${spec.provider} will refuse every call (set it where the worker runs)`);
      }
    } catch (err) {
      issues.push((err as Error).message);
    }
  }
  const judge = opts?.quality?.judge;
  if (judge?.modelName) {
    const parsed = parseModelName(judge.modelName, judge.provider, judge.baseUrl);
    if (parsed.ok) {
      const def = PROVIDERS[parsed.spec.provider];
      if (def.keyRequired && !env[def.keyEnv] && !('altKeyEnv' in def && env[def.altKeyEnv]))
        issues.push(
          `apiKey: ${def.keyEnv} is not set in this process's environment; the judge (${judge.modelName}) will be refused (set it where the worker runs)`,
        );
    }
  }
  if (opts && opts.requestTimeout < 5) {
    issues.push(`requestTimeout: ${opts.requestTimeout} s is shorter than a plausible model call; use at least 5 (30-120 is typical)`);
  }
  if (opts && opts.maxBackoffSeconds < opts.initialBackoffSeconds) {
    issues.push(`maxBackoffSeconds: ${opts.maxBackoffSeconds} is below initialBackoffSeconds ${opts.initialBackoffSeconds}`);
  }
  const unknown = unknownVariables(template, raw.templateVars ?? {});
  if (unknown.length)
    issues.push(
      `template: unknown variable${unknown.length > 1 ? 's' : ''} ${unknown.map((v) => `{${v}}`).join(', ')}; set a value with setTemplateVariables() or remove it`,
    );
  return issues;
}
