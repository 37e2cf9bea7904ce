import { createHash } from 'node:crypto';
import { outputSchemaProblems } from '../config/output-schema';
import path from 'node:path';
import { parseModelName, type ModelSpec } from '../config/model-spec';
import { DEFAULT_BATCHES_PER_SLICE, type GeneratorOptions } from '../config/generator-options';
import { RunPlanSchema, type BatchApiSettings, type RunPlan, type SamplingStrategy } from '../config/run-input';
import { createDataArgsProblems, type CreateDataArgs } from '../config/create-data-args';
import { ConfigurationError } from '../errors';
import { priceFor } from '../llm/prices';
import { QualitySettingsSchema, type QualityOptions, type QualitySettings } from '../config/quality';
import { DEFAULT_TEMPLATES, unknownVariables } from '../prompts/template';

export type { CreateDataArgs } from '../config/create-data-args';

/** Template and state a generator adds on top of its options. */
export interface GeneratorState {
  templates: Record<string, string>;
  activeTemplate: string;
  customTemplate: string | undefined;
  namedFilters: string[];
}

export { defaultDataDir } from '../config/paths';

/** The model spec from per-call override or options; throws ConfigurationError naming the field. */
export function resolveModel(opts: GeneratorOptions, override?: string): ModelSpec {
  const name = override ?? opts.modelName ?? opts.model;
  if (!name) throw new ConfigurationError('modelName: missing; set it to provider/model, e.g. "openai/gpt-4o-mini"');
  const parsed = parseModelName(name, override ? undefined : opts.provider, opts.baseUrl);
  if (!parsed.ok) throw new ConfigurationError(`${override ? 'createData.modelName' : 'modelName'}: ${parsed.error}`);
  return parsed.spec;
}

export function slug(text: string): string {
  return (
    text
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 40) || 'dataset'
  );
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/**
 * The settings that define a dataset's examples, hashed into its run id (the name comes first):
 * the model, the prompts and instructions, template and variables, few-shot examples, filters,
 * conversation type and system-message choice, temperature and max tokens, examples per call, the
 * sampling (strategy, seed, custom order), and the topics by content (a topics file by the digest of
 * its bytes, `topicsFileDigest`, so the same file in another folder is the same dataset).
 *
 * Not in it: how many examples (`num_samples`: a larger one extends the run, a smaller one takes the
 * first N), concurrency, retries, timeouts, the extra-batch budget, continue-as-new size, and where
 * the model is served (`base_url`: a proxy or a mirror of the same model is the same dataset).
 * Changing those and starting again attaches to the same run; nothing is paid twice.
 */
export function datasetDigest(input: Pick<RunPlan, 'generation' | 'examplesPerCall' | 'sampling' | 'topics'>, topicsFileDigest?: string): string {
  const { model, quality, ...generation } = input.generation;
  // A judge's endpoint and price are where and what it costs, not which dataset it makes.
  const judge = quality?.judge && { ...quality.judge, model: `${quality.judge.model.provider}/${quality.judge.model.model}`, price: undefined };
  const identity = {
    model: `${model.provider}/${model.model}`,
    generation: { ...generation, requestTimeoutSeconds: undefined, ...(quality ? { quality: { ...quality, judge } } : {}) },
    batchSize: input.examplesPerCall, // the identity's key predates the name: kept, so run ids stay
    sampling: input.sampling,
    topics:
      input.topics.kind === 'inline'
        ? sha256(JSON.stringify(input.topics.paths))
        : input.topics.kind === 'nodes'
          ? sha256(JSON.stringify([input.topics.paths, input.topics.ids]))
          : (topicsFileDigest ?? (input.topics.kind === 'file' ? input.topics.file : 'stored')),
  };
  return sha256(JSON.stringify(identity)).slice(0, 8);
}

/**
 * Calls one batch runs at once when the config does not say: a quarter of `concurrency`,
 * between 1 and 8. Fewer Temporal operations per model call (one activity, one completion, one
 * workflow task for several calls) while at least four batches stay in flight, so a slow or failing
 * batch never holds most of the call slots.
 */
export function defaultCallsPerBatch(concurrency: number): number {
  return Math.min(8, Math.max(1, Math.floor(concurrency / 4)));
}

/**
 * Batches per workflow run before continue-as-new: 500, or 128 rounds of the batches in flight when
 * that is more, at most 1,900 slice activities' worth (8,000 batches at the default 4 per slice): each
 * activity costs about 5 history events, so a run stays under Temporal's 10,240-event warning (10,516
 * events measured at 8,000 batches). A continue-as-new waits for every batch in flight to end, and no
 * new batch starts meanwhile: every slot idles for up to a slice's time (calls in flight fall to 0 at
 * each segment boundary; bench/results/inflight-512-51200.json), so a segment must be long against a
 * slice. At 512 calls in flight, 500-batch segments cost a tenth of the throughput, 2,048-batch
 * segments (32 rounds) 3%, 7,600-batch segments about 1%.
 */
export function defaultBatchesPerRun(concurrency: number, callsPerBatch: number, batchesPerSlice = DEFAULT_BATCHES_PER_SLICE): number {
  const inFlight = Math.max(1, Math.floor(concurrency / callsPerBatch));
  return Math.min(1900 * batchesPerSlice, Math.max(500, 128 * inFlight));
}

/** The extra-batch budget for top-ups: a fraction of the planned batches. */

export function extraBatches(numSteps: number, examplesPerCall: number, callsPerBatch: number, fraction: number): number {
  return Math.ceil(Math.ceil(numSteps / (examplesPerCall * callsPerBatch)) * fraction);
}

const NO_TOPICS = 'topics: none given; pass topics (a list of topic paths), a topicModel (Tree or Graph), or topicsFile';

/** Builds and validates the workflow input of a run. Pure apart from reading the clock-free options. */
export function buildRunPlan(opts: GeneratorOptions, state: GeneratorState, args: CreateDataArgs, dataDir: string, topicsFileDigest?: string): RunPlan {
  // What the caller passed, by its schema (types, bounds, misspelt keys); the defaults come from the validated options.
  const problems: string[] = createDataArgsProblems(args);
  if (problems.length) {
    if (!args.topicsFile && !args.topics && !args.topicModel) problems.push(NO_TOPICS);
    throw new ConfigurationError(`invalid run: ${problems.join('; ')}`, problems);
  }
  const numSteps = args.numSteps ?? opts.defaultNumExamples;
  const batchSize = args.batchSize ?? opts.defaultBatchSize;
  const model = resolveModel(opts, args.modelName);

  // A Graph's topics are its nodes, as in DeepFabric 4.x (unless told `paths`): with their uuids as ids.
  const nodes = !args.topics && args.graphSampling !== 'paths' ? args.topicModel?.uniqueTopics?.() : undefined;
  let paths: string[][] | undefined = args.topics ?? nodes?.map((n) => n.path) ?? args.topicModel?.getAllPaths();
  let strategy: SamplingStrategy = args.samplingStrategy ?? 'sequential';
  if (args.topicSampler) {
    paths = args.topicSampler(args.topicModel ?? paths ?? [], numSteps);
    strategy = 'sequential';
    if (!Array.isArray(paths) || paths.some((p) => !Array.isArray(p))) problems.push('topicSampler: must return an array of topic paths (string arrays)');
  }
  if (!args.topicsFile && (!paths || paths.length === 0)) {
    problems.push(NO_TOPICS);
  }
  if (opts.outputSchema) problems.push(...outputSchemaProblems(opts.outputSchema, 'outputSchema'));
  const template = state.customTemplate ?? state.templates[state.activeTemplate] ?? DEFAULT_TEMPLATES.default!;
  const unknown = unknownVariables(template, opts.templateVars);
  if (unknown.length) {
    problems.push(
      `template: unknown variable${unknown.length > 1 ? 's' : ''} ${unknown.map((v) => `{${v}}`).join(', ')}; set a value with templateVars or remove it`,
    );
  }
  if (opts.callMode === 'batch') problems.push(...batchModeProblems(model.provider, opts));
  const quality = opts.quality ? qualitySettings(opts.quality, model, problems) : undefined;
  if (problems.length) throw new ConfigurationError(`invalid run: ${problems.join('; ')}`, problems);

  const price = priceFor(model.provider, model.model, opts.price ? { ...opts.price, source: 'config' } : undefined);
  if (opts.budgetUsd !== undefined && !price) {
    throw new ConfigurationError(
      `budgetUsd: no price is known for ${model.provider}/${model.model}, so its cost cannot be estimated; set price: { inputPerMTokUsd, outputPerMTokUsd } (llm.price: { input_per_mtok, output_per_mtok } in YAML)`,
      ['budgetUsd: no known price for the model'],
    );
  }
  const concurrency = args.concurrency ?? opts.concurrency;
  const callsPerBatch = args.callsPerBatch ?? opts.callsPerBatch ?? defaultCallsPerBatch(concurrency);
  const base = {
    numSteps,
    examplesPerCall: batchSize,
    callsPerBatch,
    batchesPerSlice: opts.batchesPerSlice,
    concurrency,
    ...(price ? { price } : {}),
    ...(opts.budgetUsd !== undefined ? { budgetUsd: opts.budgetUsd } : {}),
    ...(opts.callMode === 'batch' ? { batchApi: batchApiSettings(opts.batchApi) } : {}),
    ...(opts.rateLimit
      ? { pacing: { requestsPerMinute: opts.rateLimit.requestsPerMinute, ...(opts.rateLimit.burst ? { burst: opts.rateLimit.burst } : {}) } }
      : {}),
    ...(opts.dedup.exact || opts.dedup.near !== undefined
      ? { dedup: { exact: opts.dedup.exact, ...(opts.dedup.near !== undefined ? { near: opts.dedup.near } : {}) } }
      : {}),
    topics: args.topicsFile
      ? { kind: 'file' as const, file: path.resolve(args.topicsFile), count: 1 }
      : nodes && !args.topicSampler
        ? { kind: 'nodes' as const, paths: paths!, ids: nodes.map((n) => n.id) }
        : { kind: 'inline' as const, paths: paths! },
    sampling: { strategy, seed: args.seed ?? opts.seed },
    generation: {
      model,
      instructions: opts.instructions,
      systemPrompt: opts.generationSystemPrompt,
      temperature: opts.temperature,
      maxTokens: opts.maxTokens,
      requestTimeoutSeconds: opts.requestTimeout,
      conversationType: opts.conversationType,
      sysMsg: args.sysMsg ?? true,
      ...(opts.datasetSystemPrompt !== undefined && opts.datasetSystemPrompt !== opts.generationSystemPrompt
        ? { datasetSystemPrompt: opts.datasetSystemPrompt }
        : {}),
      template,
      templateVars: opts.templateVars,
      fewShot: opts.examples,
      filters: { ...opts.filters, ...(state.namedFilters.length ? { named: [...(opts.filters.named ?? []), ...state.namedFilters] } : {}) },
      ...(opts.tools && opts.conversationType === 'agent' && !opts.outputSchema ? { tools: opts.tools } : {}),
      ...(opts.outputSchema ? { outputSchema: opts.outputSchema } : {}),
      ...(quality ? { quality } : {}),
    },
    retry: {
      maxRetries: opts.maxRetries,
      backoffMultiplier: opts.backoffMultiplier,
      initialBackoffSeconds: opts.initialBackoffSeconds,
      maxBackoffSeconds: opts.maxBackoffSeconds,
      retryOnErrors: opts.retryOnErrors,
    },
    maxExtraBatches: extraBatches(numSteps, batchSize, callsPerBatch, opts.maxExtraBatchFraction),
    heartbeatTimeoutSeconds: opts.heartbeatTimeout,
    batchesPerRun: opts.batchesPerRun ?? defaultBatchesPerRun(concurrency, callsPerBatch, opts.batchesPerSlice),
  };
  const name = args.runName ?? 'dataset';
  // Same name and dataset settings give the same id, so starting a run again attaches instead of paying twice.
  const runId = args.runId ?? `${slug(name)}-${datasetDigest(base, topicsFileDigest)}`;
  checkRunId(runId);
  const input = { ...base, runId, name, runDir: path.join(dataDir, 'runs', runId) };
  const checked = RunPlanSchema.safeParse(input);
  if (!checked.success) {
    const issues = checked.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new ConfigurationError(`invalid run: ${issues.join('; ')}`, issues);
  }
  return checked.data;
}

/** Why batch mode cannot serve this run: a provider without a batch API, or agent examples whose tool calls need each answer at once. */
export function batchModeProblems(provider: string, opts: GeneratorOptions): string[] {
  const problems: string[] = [];
  if (provider !== 'openai' && provider !== 'anthropic')
    problems.push(`callMode batch: ${provider} has no batch API here; batch mode works with openai and anthropic (use callMode live)`);
  if (opts.conversationType === 'agent' && opts.tools && !opts.outputSchema)
    problems.push('callMode batch: an agent with tools needs each step answered before the next; use callMode live');
  if (opts.quality?.judge || opts.quality?.validators.length)
    problems.push('quality: validators and a judge run with live calls only; use callMode live, or drop quality for a batch-mode run');
  return problems;
}

/**
 * The run's quality gates from the options: the judge's model (default the generator's), each
 * rubric item's scale and minimum, the judge's price when known. Problems name their field.
 */
export function qualitySettings(q: QualityOptions, generator: ModelSpec, problems: string[]): QualitySettings | undefined {
  const j = q.judge;
  let judge: QualitySettings['judge'];
  if (j) {
    let model = generator;
    if (j.modelName) {
      const parsed = parseModelName(j.modelName, j.provider, j.baseUrl);
      if (!parsed.ok) problems.push(`quality.judge.modelName: ${parsed.error}`);
      else model = parsed.spec;
    }
    const price = priceFor(model.provider, model.model, j.price ? { ...j.price, source: 'config' } : undefined);
    judge = {
      model,
      rubric: j.rubric.map((r) => {
        const [min, max] = typeof r.scale === 'number' ? [1, r.scale] : r.scale;
        const minScore = r.minScore ?? j.minScore;
        return { name: r.name, description: r.description, min, max, ...(minScore !== undefined ? { minScore } : {}) };
      }),
      temperature: j.temperature,
      maxTokens: j.maxTokens,
      ...(price ? { price } : {}),
    };
  }
  q.validators.forEach((v, i) => {
    if (v.type !== 'regex') return;
    try {
      new RegExp(v.pattern, 'u');
    } catch (err) {
      problems.push(`quality.validators[${i}].pattern: ${(err as Error).message}`);
    }
  });
  const checked = QualitySettingsSchema.safeParse({ ...(judge ? { judge } : {}), validators: q.validators });
  if (!checked.success) {
    for (const i of checked.error.issues) {
      const where = `quality${i.path.map((seg) => (typeof seg === 'number' ? `[${seg}]` : `.${String(seg)}`)).join('')}`;
      problems.push(`${where}: ${i.message}`);
    }
    return undefined;
  }
  return checked.data;
}

/**
 * Calls in one provider batch unless told: well under the providers' limits (50,000 OpenAI, 100,000
 * Anthropic) so that a chunk's activity inputs (its batch numbers) stay small in history, while ten
 * provider batches at once still carry 50,000 calls.
 */
export const DEFAULT_BATCH_LINES = 5000;

/** Batch mode's settings with their defaults. */
function batchApiSettings(b: GeneratorOptions['batchApi']): BatchApiSettings {
  return {
    maxRequests: b.maxRequests ?? DEFAULT_BATCH_LINES,
    maxInFlight: b.maxInFlight,
    pollSeconds: b.pollSeconds,
    attempts: b.attempts,
    ...(b.deadlineHours !== undefined ? { deadlineSeconds: Math.round(b.deadlineHours * 3600) } : {}),
  };
}

/** A run id is also a folder name and a workflow id: letters, digits, '.', '_' and '-' only. */
export function checkRunId(runId: string): void {
  if (!/^[A-Za-z0-9._-]{1,200}$/.test(runId)) {
    throw new ConfigurationError(`runId: "${runId}" may only hold letters, digits, '.', '_' and '-'`);
  }
}
