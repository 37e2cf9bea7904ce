import { createHash, randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { formatIssues, GeneratorOptionsSchema, type GeneratorOptions, type GeneratorOptionsInput } from '../config/generator-options';
import { ConfigurationError, type ErrorCategory } from '../errors';
import { incompleteRunError } from './run-outcome';
import { registerContentFilter, type ContentFilter } from '../dataset/content-filters';
import type { QualityOptionsInput } from '../config/quality';
import { Dataset } from '../dataset/dataset';
import { DEFAULT_TEMPLATES } from '../prompts/template';
import { openStore } from '../storage/open-store';
import type { Store } from '../storage/store';
import type { RunResult } from '../workflows/dataset-run';
import type { GenerationStats } from '../workflows/stats';
import { buildRunPlan, defaultDataDir, type CreateDataArgs, type GeneratorState } from './run-builder';
import { RunHandle } from './run-handle';
import { buildTopicInput, runTopicBuild, type BuildTopicsOptions } from './topic-builder';
import type { Graph } from '../topics/graph';
import type { Tree } from '../topics/tree';
import { TemporalContext, type TemporalOptions } from './temporal-context';
import { serveRun, startRun } from './run-starter';
import { WorkflowNotFoundError } from '@temporalio/client';
import { configurationIssues } from './configuration-issues';
import { connectionSettings } from '../config/connection';

/** Constructor options: the seed's, plus how to reach Temporal. */
export type DataSetGeneratorOptions = GeneratorOptionsInput & { temporal?: TemporalOptions };

let generatorCount = 0;

/**
 * The seed's `DataSetGenerator`, on Temporal: each `createData` is a durable workflow run that
 * fans out one activity per batch. Embedded mode (no TEMPORAL_ADDRESS) starts a dev server and an
 * in-process worker on first use; call `close()` when done.
 */
export class DataSetGenerator {
  private raw: GeneratorOptionsInput;
  private readonly temporalOptions: TemporalOptions;
  private ctx: Promise<TemporalContext> | undefined;
  private readonly state: GeneratorState = {
    templates: { ...DEFAULT_TEMPLATES },
    activeTemplate: 'default',
    customTemplate: undefined,
    namedFilters: [],
  };
  private readonly id = ++generatorCount;
  private monitoring: { verbose: boolean } | undefined;
  private lastStats: GenerationStats | undefined;

  constructor(options: DataSetGeneratorOptions = {}) {
    const { temporal, ...rest } = options;
    this.temporalOptions = temporal ?? {};
    this.raw = rest;
    // Unknown keys and wrong types are programming errors: refuse them now. Range and semantic
    // problems are reported by validateConfiguration() and refused at run start.
    const parsed = GeneratorOptionsSchema.safeParse(rest);
    if (!parsed.success) {
      const hard = parsed.error.issues.filter((i) => i.code === 'unrecognized_keys' || (i.code === 'invalid_type' && i.input !== undefined));
      if (hard.length) {
        const issues = formatIssues({ issues: hard } as never, Object.keys(GeneratorOptionsSchema.shape));
        throw new ConfigurationError(`DataSetGenerator: ${issues.join('; ')}`, issues);
      }
    }
  }

  /** Parsed options, or a ConfigurationError listing every problem. */
  private options(): GeneratorOptions {
    const parsed = GeneratorOptionsSchema.safeParse(this.raw);
    if (!parsed.success) {
      const issues = formatIssues(parsed.error, Object.keys(GeneratorOptionsSchema.shape));
      throw new ConfigurationError(`invalid generator options: ${issues.join('; ')}`, issues);
    }
    return parsed.data;
  }

  private get dataDir(): string {
    return path.resolve(this.raw.dataDir ?? defaultDataDir());
  }

  private context(): Promise<TemporalContext> {
    this.ctx ??= this.store().then((store) => TemporalContext.open(this.temporalOptions, this.dataDir, store));
    return this.ctx;
  }

  private storePromise: Promise<Store> | undefined;
  /** This client's run store: PostgreSQL when `store` (or DEEPFABRIC_STORE) is a URL, else the data folder. */
  private store(): Promise<Store> {
    this.storePromise ??= openStore({ dataDir: this.dataDir, url: this.raw.store ?? connectionSettings().storeUrl }).catch((err: Error) => {
      this.storePromise = undefined;
      throw new ConfigurationError(err.message);
    });
    return this.storePromise;
  }

  // ---- templates -------------------------------------------------------------------------

  /** Replaces a built-in template (`default`, `instruction`, `conversation`, or a new name) and makes it active. */
  setTemplate(name: string, text: string): this {
    this.state.templates[name] = text.trim();
    this.state.activeTemplate = name;
    return this;
  }

  /** Uses `text` as the per-example template for every run of this generator. */
  setCustomTemplate(text: string): this {
    this.state.customTemplate = text.trim();
    return this;
  }

  /** Values for user-declared template variables (`{audience}`, `{complexity}`, your own). */
  setTemplateVariables(vars: Record<string, string>): this {
    this.raw = { ...this.raw, templateVars: { ...(this.raw.templateVars ?? {}), ...vars } };
    return this;
  }

  // ---- quality control -------------------------------------------------------------------

  /**
   * Adds `(content, topic, metadata) => [ok, reason]`. It runs in this process's worker (embedded
   * mode); remote workers cannot run a function, so use `filters` in the options or named filters.
   */
  addContentFilter(filter: ContentFilter, name?: string): this {
    const filterName = name ?? `generator-${this.id}-filter-${this.state.namedFilters.length + 1}`;
    registerContentFilter(filterName, filter);
    this.state.namedFilters.push(filterName);
    return this;
  }

  /**
   * A judge model scores every example on `rubric` (each item from 1 to its `scale`, or on a
   * `[lowest, highest]` scale); an example under an item's `minScore` (or the judge's `minScore`) is
   * dropped and topped up. Scores go into the records' `metadata.quality`, the stats and the
   * manifest; judge tokens are counted apart. `modelName` defaults to the generator's model.
   */
  setJudge(judge: NonNullable<QualityOptionsInput['judge']>): this {
    this.raw = { ...this.raw, quality: { ...this.raw.quality, judge } };
    return this;
  }

  /** Adds a validator (`python`, `json`, `regex`, `http`) every example passes; `action: 'flag'` keeps failures, flagged. */
  addValidator(validator: NonNullable<QualityOptionsInput['validators']>[number]): this {
    this.raw = { ...this.raw, quality: { ...this.raw.quality, validators: [...(this.raw.quality?.validators ?? []), validator] } };
    return this;
  }

  /** Maps onto the Temporal retry policy of every batch. */
  setRetryStrategy(s: {
    maxRetries?: number;
    backoffMultiplier?: number;
    maxBackoffSeconds?: number;
    initialBackoffSeconds?: number;
    retryOnErrors?: ErrorCategory[];
  }): this {
    const next: GeneratorOptionsInput = { ...this.raw };
    if (s.maxRetries !== undefined) next.maxRetries = s.maxRetries;
    if (s.backoffMultiplier !== undefined) next.backoffMultiplier = s.backoffMultiplier;
    if (s.maxBackoffSeconds !== undefined) next.maxBackoffSeconds = s.maxBackoffSeconds;
    if (s.initialBackoffSeconds !== undefined) next.initialBackoffSeconds = s.initialBackoffSeconds;
    if (s.retryOnErrors !== undefined) next.retryOnErrors = s.retryOnErrors;
    this.raw = next;
    return this;
  }

  /** Prints live progress (from the stats query) while `createData` runs. */
  enableMonitoring(opts: { verbose?: boolean } = {}): this {
    this.monitoring = { verbose: opts.verbose ?? false };
    return this;
  }

  /** The latest stats seen: live while a run goes (when monitoring), final after it ends. */
  getGenerationStats(): GenerationStats | undefined {
    return this.lastStats;
  }

  /** Larger batches, more parallel calls, optionally shorter timeouts. Values are documented in the README. */
  optimizeForThroughput(o: { largeBatchSizes?: boolean; parallelRequests?: boolean; aggressiveTimeouts?: boolean } = {}): this {
    const next: GeneratorOptionsInput = { ...this.raw };
    if (o.largeBatchSizes ?? true) next.defaultBatchSize = 20;
    if (o.parallelRequests ?? true) next.concurrency = 32;
    if (o.aggressiveTimeouts) {
      next.requestTimeout = 30;
      next.maxRetries = 2;
      next.maxBackoffSeconds = 10;
    }
    this.raw = next;
    return this;
  }

  /** Small batches, long timeouts, many retries. Values are documented in the README. */
  optimizeForReliability(o: { conservativeBatchSizes?: boolean; extendedTimeouts?: boolean; maximumRetries?: boolean } = {}): this {
    const next: GeneratorOptionsInput = { ...this.raw };
    if (o.conservativeBatchSizes ?? true) {
      next.defaultBatchSize = 2;
      next.concurrency = Math.min(next.concurrency ?? 8, 4);
    }
    if (o.extendedTimeouts ?? true) next.requestTimeout = 180;
    if (o.maximumRetries ?? true) {
      next.maxRetries = 10;
      next.maxBackoffSeconds = 120;
    }
    this.raw = next;
    return this;
  }

  /**
   * Problems that would hurt or stop a run, one message each ("field: what; what to do"), or an
   * empty list. Checks the options, the model string, the API key in this process's environment
   * (the worker's, in embedded mode) and the template's variables.
   */
  validateConfiguration(): string[] {
    const template = this.state.customTemplate ?? this.state.templates[this.state.activeTemplate] ?? '';
    return configurationIssues(this.raw, template, process.env);
  }

  // ---- runs ------------------------------------------------------------------------------

  /**
   * Starts a run, or attaches to the run of the same dataset (same name and dataset settings, see
   * `datasetDigest`) and returns its handle:
   * - running: attached; changed concurrency, retries and request timeout are applied to it (the applySettings signal);
   * - finished complete with the same target: attached (its result is there, nothing is paid);
   * - finished short, failed, stopped or cancelled, or asked for a different number of examples:
   *   started again under the same id; batches already on disk are reused, only missing ones are paid.
   * Another running run of the same name with different settings makes this refuse (naming it) unless
   * `replace` is set, which stops that run (its partial data is kept) first.
   */
  async startData(args: CreateDataArgs = {}): Promise<RunHandle> {
    const opts = this.options();
    const topicsFileDigest = args.topicsFile
      ? createHash('sha256')
          .update(
            await fs.readFile(path.resolve(args.topicsFile)).catch((err: Error) => {
              throw new ConfigurationError(`topicsFile: ${err.message}`);
            }),
          )
          .digest('hex')
      : undefined;
    const input = buildRunPlan(opts, this.state, args, this.dataDir, topicsFileDigest);
    return startRun(() => this.context(), await this.store(), input, {
      maxExtraBatchFraction: opts.maxExtraBatchFraction,
      functionFilters: this.state.namedFilters.length > 0,
      ...(this.temporalOptions.searchAttributes !== undefined ? { searchAttributes: this.temporalOptions.searchAttributes } : {}),
      replace: args.replace === true,
    });
  }

  /** Where runs go: embedded or cluster mode, the server address, the UI's URL when known. */
  async temporalInfo(): Promise<{ mode: string; address: string; namespace: string; uiUrl: string | undefined; foreign: string | undefined }> {
    const ctx = await this.context();
    return { mode: ctx.mode, address: ctx.address, namespace: ctx.namespace, uiUrl: ctx.uiUrl, foreign: ctx.foreign };
  }

  /**
   * Builds a topic tree or graph with this generator's model and Temporal connection (a durable
   * workflow, one activity per node expansion) and returns it, ready for `createData({ topicModel })`.
   */
  async buildTopics(options: Omit<BuildTopicsOptions, 'temporal' | 'modelName'> & { modelName?: string }): Promise<Tree | Graph> {
    const opts = this.options();
    const input = buildTopicInput({
      dataDir: this.dataDir,
      temperature: opts.temperature,
      maxRetries: opts.maxRetries,
      requestTimeout: opts.requestTimeout,
      ...(opts.baseUrl ? { baseUrl: opts.baseUrl } : {}),
      ...(opts.provider && !options.modelName ? { provider: opts.provider } : {}),
      ...options,
      modelName: options.modelName ?? opts.modelName ?? opts.model ?? '',
    });
    const { model } = await runTopicBuild(await this.context(), input, await this.store(), options.saveAs);
    return model;
  }

  /** Attaches to an existing run by id (e.g. after the client that started it died). */
  async getRun(runId: string): Promise<RunHandle> {
    const ctx = await this.context();
    const run = new RunHandle(ctx.client, runId, path.join(this.dataDir, 'runs', runId), await this.store());
    // Attaching to a run is asking for it: in embedded mode this process's worker now serves it.
    await serveRun(ctx, run).catch((err: unknown) => {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
    });
    return run;
  }

  /**
   * Runs to the end and returns the dataset (the seed's `create_data_async`). A run that ends short
   * of its target throws as the seed says: `ValidationError` when rejected content or answers that
   * kept breaking the schema left it short, `ModelError` when the provider kept failing; both carry
   * the run id and the partial dataset's path.
   */
  async createData(args: CreateDataArgs = {}): Promise<Dataset> {
    const run = await this.startData(args);
    const result = await this.waitWithMonitoring(run);
    if (result.status === 'incomplete') throw incompleteRunError(result);
    return Dataset.load(result.datasetPath);
  }

  /** Alias of `createData`, as in the seed. */
  createDataAsync(args: CreateDataArgs = {}): Promise<Dataset> {
    return this.createData(args);
  }

  /**
   * One batch of `batchSize` examples for the given topics, returned directly (still a durable run).
   * Each call is a new run (the seed's loops call it repeatedly for more data); pass `runId` to
   * attach to an earlier call's run instead.
   */
  async createBatch(args: { topics: string[][] | string[]; batchSize?: number; modelName?: string; runId?: string }): Promise<Dataset> {
    const topics = (args.topics as unknown[]).map((t) => (Array.isArray(t) ? (t as string[]) : [String(t)]));
    const batchSize = args.batchSize ?? this.options().defaultBatchSize;
    return this.createData({
      topics,
      numSteps: batchSize,
      batchSize,
      runName: 'batch',
      runId: args.runId ?? `batch-${randomUUID()}`,
      ...(args.modelName ? { modelName: args.modelName } : {}),
    });
  }

  private async waitWithMonitoring(run: RunHandle): Promise<RunResult> {
    let timer: NodeJS.Timeout | undefined;
    if (this.monitoring) {
      const verbose = this.monitoring.verbose;
      timer = setInterval(() => {
        run
          .stats()
          .then((s) => {
            this.lastStats = s;
            const line = `[${run.runId}] ${s.accepted}/${s.target} examples, ${s.batchesDone} batches done, ${s.batchesInFlight} in flight`;
            process.stderr.write(
              verbose
                ? `${line}, success ${(s.successRate * 100).toFixed(1)}%, avg retries ${s.avgRetries.toFixed(2)}, errors ${JSON.stringify(s.errorCategories)}, ${s.examplesPerSecond.toFixed(1)}/s\n`
                : `${line}\n`,
            );
          })
          .catch(() => undefined);
      }, 1000);
    }
    try {
      const result = await run.result();
      this.lastStats = result.stats;
      return result;
    } finally {
      if (timer) clearInterval(timer);
    }
  }

  /** Stops what this generator started in embedded mode (worker, dev server, connection). */
  async close(): Promise<void> {
    const ctx = await this.ctx?.catch(() => undefined);
    this.ctx = undefined;
    await ctx?.close();
    const store = await this.storePromise?.catch(() => undefined);
    this.storePromise = undefined;
    await store?.close();
  }
}
