/**
 * One batch of a slice: its model calls (`examplesPerCall` examples each) take turns in the slice's
 * call slots; each answer is validated and filtered example by example, and each finished call is
 * checkpointed, so a retry of the slice (Temporal's retry policy) redoes only the calls that had not
 * finished. When all calls are done, their accepted examples are written as the batch's shard (one
 * atomic write). A batch whose shard exists returns its stored summary without calling the model,
 * so retries, replays and restarts never pay twice; a batch whose failure was final (outside the
 * run's retry policy) fails again without calling.
 */
import { ApplicationFailure, Context, log } from '@temporalio/activity';
import { ModelError, type ErrorCategory } from '../errors';
import { pacingKey, type Pacer, type PacingSettings } from '../llm/pacing';
import type { ProviderFactory } from '../llm/provider-factory';
import { runDataFor, StoreMismatchError, type RunData, type Store } from '../storage/store';
import { seedSpinSession, ToolSession } from '../tools/tools';
import { toStrictJsonSchema } from '../llm/json-schema';
import type { DatasetRecord } from '../dataset/example-schemas';
import { AnnouncedLimits, MAX_PACED_WAIT_SECONDS } from '../llm/pacing';
import { LearnedLimits } from '../llm/learned-limits';
import { retryableUnder, RUN_FATAL_TYPES } from '../config/retry-policy';
import { agentRecord, agentStepPrompt, AgentStepSchema, applyAgentStep } from './agent-loop';
import { callOutcome, callRequest, countBy, previewText, splitCalls, tokensOf, validateAnswer } from './batch-answers';
import { topicsFor } from './batch-topics';
import { JUDGE_SYSTEM_PROMPT } from '../dataset/judge';
import { ValidatorUnavailableError } from '../dataset/validators';
import type { CallSlots } from './call-slots';
import { dropDuplicates } from './dedup-claims';
import { hasGates, passQualityGates, QUALITY_PROGRESS_KEY } from './quality-gates';
import { addQualityCounts, type QualityCounts, type QualityNote } from '../config/quality';
import { toFailure } from './to-failure';
import {
  AgentCallProgressSchema,
  CallOutcomeSchema,
  parseCheckpoint,
  QualityProgressSchema,
  StoredSummarySchema,
  type AgentProgress,
  type BatchInput,
  type BatchSummary,
  type CallOutcome,
  type ExecutedCall,
  type QualityProgress,
  type StoredSummary,
} from './types';

/** Where an agent call's progress is checkpointed: call records past the batch's own calls (at most 64). */
const AGENT_PROGRESS_KEY = 1000;

let agentSchema: Record<string, unknown> | undefined;
const agentStepJsonSchema = () => (agentSchema ??= toStrictJsonSchema(AgentStepSchema));

/** Replays a checkpointed file change into a fresh session, so a resumed example sees the files it wrote. */
function replayFileCall(session: ToolSession, call: ExecutedCall): void {
  const args = JSON.parse(call.arguments) as { file_path?: string; content?: unknown };
  if (typeof args.file_path !== 'string' || call.result.startsWith('Error')) return;
  if (call.function_name === 'write_file')
    session.files.set(args.file_path, typeof args.content === 'string' ? args.content : JSON.stringify(args.content ?? ''));
  else session.files.delete(args.file_path);
}

/** A call that failed after the provider answered (its tokens were paid for) or before (no usage). */
class FailedCall {
  constructor(
    readonly error: unknown,
    readonly usage: { inputTokens: number; outputTokens: number } | undefined,
  ) {}
}

/** Waits `ms`, or less when `signal` aborts. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    const onAbort = () => (clearTimeout(t), resolve());
    const t = setTimeout(() => (signal.removeEventListener('abort', onAbort), resolve()), ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Waits for this call's paced slot (cancellable); the wait is capped below the activity's timeout slack. */
async function waitForSlot(pacer: Pacer, key: string, pacing: PacingSettings, signal: AbortSignal): Promise<void> {
  const wait = Math.min(await pacer.reserve(key, pacing), (MAX_PACED_WAIT_SECONDS - 30) * 1000);
  if (wait > 0) await pause(wait, signal);
}

/** Waits (cancellable) until what the endpoint's 429s taught this worker lets a call start; returns its start time. */
async function waitForLearned(learned: LearnedLimits, key: string, signal: AbortSignal): Promise<number> {
  for (let ms = learned.delay(key, Date.now()); ms > 0 && !signal.aborted; ms = learned.delay(key, Date.now())) await pause(ms, signal);
  return learned.started(key, Date.now());
}

/**
 * The failure a batch reports for its failed calls: a fatal one first (it must reach the workflow
 * even when another call failed retryably), then one the run's policy does not retry (the batch is
 * done failing), else the first.
 */
function worstFailure(errs: ModelError[], retryOnErrors: readonly string[]): ModelError {
  return (
    errs.find((e) => RUN_FATAL_TYPES.includes(e.category)) ??
    errs.find((e) => !retryableUnder({ category: e.category, nonRetryable: !e.retryable }, retryOnErrors)) ??
    errs[0]!
  );
}

/** Tells the slice a call failed fatally: it starts no more calls (before this call's slot is handed on). */
type OnFatal = (failure: ApplicationFailure) => void;

export function makeBatchRunner(providers: ProviderFactory, runStore: Store) {
  // What the providers' answers announced, for runs told no rate limit (one per worker: its activities share it).
  const announced = new AnnouncedLimits();
  // ... and what their 429s taught, for endpoints that announce nothing (learned-limits.ts).
  const learned = new LearnedLimits();
  /** Runs `input`'s calls in `slots`; `onFatal` hears of a call failure that ends the run. */
  return async function runBatch(input: BatchInput, slots: CallSlots, onFatal: OnFatal): Promise<BatchSummary> {
    const ctx = Context.current();
    const store = await runDataFor(runStore, input).catch((err: unknown) => {
      if (err instanceof StoreMismatchError) throw ApplicationFailure.nonRetryable(err.message, 'configuration_error');
      throw err;
    });
    // This slice, whatever its attempt: a shard it wrote in an earlier attempt is its own work, not a reused one.
    const madeBy = `${ctx.info.workflowExecution?.runId}/${ctx.info.activityId}`;
    const done = await storedSummary(store, input.batchIndex, madeBy);
    if (done) return done;
    const batch = await BatchAttempt.open({ providers, pacer: runStore, announced, learned, store, input, slots, onFatal, ctx, madeBy });
    return batch.run();
  };
}

/** The summary of a batch whose shard exists (nothing is called); `cached` unless this slice wrote it. */
async function storedSummary(store: RunData, batchIndex: number, madeBy: string): Promise<BatchSummary | undefined> {
  if (!(await store.hasShard(batchIndex))) return undefined;
  const { summary: raw } = await store.readShard<unknown>(batchIndex);
  const summary = StoredSummarySchema.safeParse(raw);
  if (!summary.success) {
    throw ApplicationFailure.nonRetryable(
      `batch ${batchIndex}: its stored shard has no readable summary (${summary.error.issues[0]?.message}); delete the shard to generate it again`,
      'store_error',
    );
  }
  // Cached: made by an earlier run or slice (reused, not paid by this one); a shard of an earlier
  // attempt of this slice was paid by this run, and the workflow has not counted it yet.
  const { recordTopics: _topics, recordQuality: _notes, madeBy: by, ...small } = summary.data; // the topics and notes stay in the store, out of history
  return { ...small, cached: by !== madeBy };
}

type Call = { call: number; firstExample: number; count: number };

interface AttemptParts {
  providers: ProviderFactory;
  pacer: Pacer;
  announced: AnnouncedLimits;
  learned: LearnedLimits;
  store: RunData;
  input: BatchInput;
  slots: CallSlots;
  onFatal: OnFatal;
  ctx: Context;
  madeBy: string;
}

/** One attempt of one batch: its checkpoints read, its remaining calls made, then its shard or its failure. */
class BatchAttempt {
  private readonly started = Date.now();
  private readonly outcomes = new Map<number, CallOutcome>();
  private readonly attempt: number;
  private readonly g: BatchInput['generation'];
  private readonly agent: boolean;

  private constructor(
    private readonly p: AttemptParts,
    /** Failed attempts on record (a retry's). */
    private readonly previous: Record<string, unknown>[],
    private readonly topicPaths: string[][],
    /** The topics' own ids (graph nodes' uuids), beside their paths; a path's id otherwise. */
    private readonly topicIds: string[] | undefined,
    private readonly calls: Call[],
    private readonly checkpoints: Map<number, unknown>,
  ) {
    this.attempt = p.ctx.info.attempt;
    this.g = p.input.generation;
    this.agent = this.g.conversationType === 'agent' && this.g.tools !== undefined;
    for (const c of calls) {
      const done = parseCheckpoint(CallOutcomeSchema, checkpoints.get(c.call), (why) =>
        log.warn(`batch ${p.input.batchIndex} call ${c.call}: checkpoint unreadable (${why}); calling again`),
      );
      if (done) this.outcomes.set(c.call, done);
    }
  }

  static async open(p: AttemptParts): Promise<BatchAttempt> {
    const { input, store } = p;
    // Only a retry, or batch mode's last step, can have failed attempts of this run on record. Those
    // of an earlier run of the same dataset (one that failed or was stopped) are not this run's: their
    // final failure does not end this one, and that run counted their tokens.
    const retry = p.ctx.info.attempt > 1 || input.fromProviderBatch !== undefined;
    const thisRun = p.ctx.info.workflowExecution?.runId;
    const previous = retry ? (await store.readErrors(input.batchIndex)).filter((e) => e.run === undefined || e.run === thisRun) : [];
    // A failure outside the run's retry policy is final: a retry of the slice does not call for this batch again.
    const final = previous.find((e) => e.final === true);
    if (final) {
      throw ApplicationFailure.create({
        type: String(final.category),
        message: String(final.message),
        nonRetryable: true,
        details: [{ ...tokensOf(previous), attempts: Number(final.attempt) }],
      });
    }
    const topics = await topicsFor(input, store);
    const calls = splitCalls(input.firstExample, input.count, input.examplesPerCall);
    // Every attempt reads the batch's checkpoints at once (finished calls, agent calls' progress,
    // calls waiting for their judge): a retry's, and a first attempt's in a run started again after
    // an earlier run of the same dataset failed or was stopped mid-batch. Those calls were paid for.
    const agent = input.generation.conversationType === 'agent' && input.generation.tools !== undefined;
    const gated = hasGates(input.generation.quality);
    const keys = calls.flatMap((c) => [c.call, ...(agent ? [AGENT_PROGRESS_KEY + c.call] : []), ...(gated ? [QUALITY_PROGRESS_KEY + c.call] : [])]);
    const checkpoints = await store.readCalls(input.batchIndex, keys);
    return new BatchAttempt(p, previous, topics.paths, topics.ids, calls, checkpoints);
  }

  /** The validation error of the latest failed attempt, fed back into the prompt (DeepFabric's feedback loop). */
  private get lastValidation(): string | undefined {
    const e = [...this.previous].reverse().find((x) => x.category === 'validation_error' || x.category === 'json_parse_error');
    return e ? String(e.message) : undefined;
  }

  async run(): Promise<BatchSummary> {
    const { ctx, slots } = this.p;
    /**
     * A call holds one of the slice's slots from its paced turn until its answer is checked and
     * checkpointed; the batch's shard, dedup and summary happen outside, while the slot already
     * serves the next call.
     */
    // Batch mode's last step after a stop makes no call: the shard holds what the provider answered.
    const live = this.p.input.fromProviderBatch?.live ?? true;
    const missing = live ? this.calls.filter((c) => !this.outcomes.has(c.call)) : [];
    const settled = await Promise.allSettled(missing.map((c) => slots.run(() => this.runCall(c))));
    // A cancelled batch ends as cancelled (not as a timeout), so the workflow sees a cancellation.
    if (ctx.cancellationSignal.aborted) await ctx.cancelled;
    const failures = settled.flatMap((r) => (r.status === 'rejected' ? [r.reason instanceof FailedCall ? r.reason : new FailedCall(r.reason, undefined)] : []));
    if (failures.length) return this.fail(failures);
    return this.finish();
  }

  /**
   * One model call, paced at the run's told limit or else at the limit the provider announced on
   * earlier answers, or else at the limit its 429s taught this worker; a failure becomes a FailedCall
   * carrying what the provider charged, if anything.
   */
  private async callModel(c: { call: number }, prompt: string, jsonSchema: Record<string, unknown>, schemaName: string, judge?: { index: number }) {
    const { input, ctx, pacer, announced, learned } = this.p;
    const g = this.g;
    const j = judge && g.quality?.judge;
    const model = j ? j.model : g.model;
    const key = pacingKey(model);
    // The run's told limit is its generation model's; a judge on another endpoint is paced as announced or learned.
    const told = key === pacingKey(g.model) ? input.pacing : undefined;
    const pacing = told ?? announced.pacing(key);
    let startedAt: number | undefined;
    if (pacing) await waitForSlot(pacer, key, pacing, ctx.cancellationSignal);
    else startedAt = await waitForLearned(learned, key, ctx.cancellationSignal);
    try {
      const result = await this.p.providers.get(model).generate({
        system: j ? JUDGE_SYSTEM_PROMPT : g.systemPrompt,
        prompt,
        jsonSchema,
        schemaName,
        temperature: j ? j.temperature : g.temperature,
        maxTokens: j ? j.maxTokens : g.maxTokens,
        timeoutMs: g.requestTimeoutSeconds * 1000,
        signal: ctx.cancellationSignal,
        headers: {
          'x-deepfabric-batch': `${input.runId}/${input.batchIndex}`,
          ...(this.calls.length > 1 ? { 'x-deepfabric-call': String(c.call) } : {}),
          ...(judge ? { 'x-deepfabric-judge': String(judge.index) } : {}),
        },
      });
      announced.note(key, result.announcedRpm, result.announcedTpm, result.usage.inputTokens + result.usage.outputTokens);
      if (startedAt !== undefined) learned.answered(key, Date.now());
      return result;
    } catch (thrown) {
      // A judge's failure says so: its model and key may be another provider's than the generator's.
      const err = j && thrown instanceof ModelError ? thrown.within(`judge ${j.model.provider}/${j.model.model}`) : thrown;
      // A 429 slows every worker's pacing of this endpoint down.
      if (err instanceof ModelError && err.category === 'rate_limit') {
        if (pacing) await pacer.slowDown(key, pacing).catch(() => undefined);
        else if (startedAt !== undefined) learned.rateLimited(key, startedAt, Date.now(), err.retryAfterMs);
      }
      const fatal =
        err instanceof ModelError && err.unreachable && input.firstWave
          ? new ModelError(err.message, { category: 'unreachable', provider: err.provider, baseUrl: err.baseUrl, cause: err })
          : err instanceof ModelError && RUN_FATAL_TYPES.includes(err.category)
            ? err
            : undefined;
      // A failure that ends the run starts no more calls in the slice (before this call's slot is handed on).
      if (fatal) this.p.onFatal(toFailure(fatal));
      if (fatal && fatal !== err) throw fatal;
      throw new FailedCall(err, err instanceof ModelError ? err.usage : undefined);
    }
  }

  private async runCall(c: Call): Promise<CallOutcome> {
    const { input, store } = this.p;
    const from = c.firstExample - input.firstExample;
    const topics = { paths: this.topicPaths.slice(from, from + c.count), ids: this.topicIds?.slice(from, from + c.count) };
    const paths = topics.paths;
    const quality = this.g.quality;
    const gated = hasGates(quality);
    const saved = gated
      ? parseCheckpoint(QualityProgressSchema, this.checkpoints.get(QUALITY_PROGRESS_KEY + c.call), (why) =>
          log.warn(`batch ${input.batchIndex} call ${c.call}: quality checkpoint unreadable (${why}); calling again`),
        )
      : undefined;
    let outcome: CallOutcome;
    if (saved)
      outcome = saved.outcome; // generated (and validated) in an earlier attempt: only its judging is left
    else if (this.agent) outcome = await this.runAgentCall(c, topics);
    else {
      const ask = callRequest(this.g, paths, c.count, this.lastValidation);
      const result = await this.callModel(c, ask.prompt, ask.jsonSchema, ask.schemaName);
      try {
        outcome = await callOutcome(result, c, topics, input);
      } catch (err) {
        throw new FailedCall(err, result.usage); // an answer that failed validation was paid for
      }
    }
    if (gated) outcome = await this.passGates(c, outcome, saved);
    // Every call is checkpointed (one appended line) before its slot goes to the next call, so a
    // killed worker loses at most the calls in flight, never more than `concurrency`.
    await store.writeCall(input.batchIndex, c.call, outcome);
    this.outcomes.set(c.call, outcome);
    return outcome;
  }

  /** The call's examples through the run's validators and judge (quality-gates.ts); a judge call's failure is a failed call of the batch. */
  private async passGates(c: Call, outcome: CallOutcome, saved: QualityProgress | undefined): Promise<CallOutcome> {
    const { input, store, ctx } = this.p;
    try {
      return await passQualityGates(outcome, {
        quality: this.g.quality!,
        saved,
        save: (progress) => store.writeCall(input.batchIndex, QUALITY_PROGRESS_KEY + c.call, progress, { replace: true }),
        judge: async (prompt, jsonSchema, index) => this.callModel(c, prompt, jsonSchema, 'judge_scores', { index }),
        signal: ctx.cancellationSignal,
      });
    } catch (err) {
      if (err instanceof ValidatorUnavailableError) throw ApplicationFailure.nonRetryable(err.message, 'configuration_error');
      if (err instanceof ModelError) throw new FailedCall(err, err.usage); // an unusable judge answer was paid for
      throw err;
    }
  }

  /**
   * The examples of one call, each an agent loop with its tools executed here. Each finished step
   * is checkpointed (the call's progress record), so a retry resumes every example at its next step.
   */
  private async runAgentCall(c: Call, topics: { paths: string[][]; ids?: string[] | undefined }): Promise<CallOutcome> {
    const paths = topics.paths;
    const { input, store, ctx } = this.p;
    const g = this.g;
    const tools = g.tools!;
    const key = AGENT_PROGRESS_KEY + c.call;
    const saved = parseCheckpoint(AgentCallProgressSchema, this.checkpoints.get(key), (why) =>
      log.warn(`batch ${input.batchIndex} call ${c.call}: agent checkpoint unreadable (${why}); starting its examples again`),
    );
    const examples: AgentProgress[] = saved?.examples ?? [];
    const save = () => store.writeCall(input.batchIndex, key, { examples }, { replace: true });
    for (let i = 0; i < c.count; i++) {
      const progress = (examples[i] ??= { steps: [], inputTokens: 0, outputTokens: 0 });
      // Each example has its own tool session: the builtin file system starts from scenario_seed again.
      const session = new ToolSession(`${input.runId}-${input.batchIndex}-${c.firstExample + i}`, tools.seedFiles);
      for (const s of progress.steps)
        for (const call of s.calls) if (call.function_name === 'write_file' || call.function_name === 'delete_file') replayFileCall(session, call);
      // In Spin the session lives at the service: seeded before the example's first step (a resumed example's session has them).
      if (progress.steps.length === 0 && progress.final === undefined) await seedSpinSession(tools, session, ctx.cancellationSignal);
      let feedback = this.lastValidation;
      while (progress.final === undefined) {
        const prompt = agentStepPrompt({ instructions: g.instructions, topicPath: paths[i] ?? [], tools, progress, previousError: feedback });
        const result = await this.callModel(c, prompt, agentStepJsonSchema(), 'agent_step');
        progress.inputTokens += result.usage.inputTokens;
        progress.outputTokens += result.usage.outputTokens;
        try {
          await applyAgentStep(result.object, progress, tools, session, g.model.provider, ctx.cancellationSignal);
        } catch (err) {
          progress.inputTokens -= result.usage.inputTokens;
          progress.outputTokens -= result.usage.outputTokens;
          throw new FailedCall(err, result.usage);
        }
        feedback = undefined;
        await save();
      }
    }
    const rejected: Record<string, number> = {};
    const built = examples.map((p, i) =>
      agentRecord(p, tools, { sysMsg: g.sysMsg, systemPrompt: g.datasetSystemPrompt ?? g.systemPrompt, idSeed: `${input.runId}/${c.firstExample + i}` }),
    );
    const kept = built.flatMap((r, i) => (r ? [{ r, path: topics.paths[i]!, id: topics.ids?.[i] }] : []));
    if (kept.length < built.length) rejected['more tool calls than max_per_query'] = built.length - kept.length;
    const outcome = await validateAnswer(
      { examples: kept.map((k) => k.r) },
      { ...c, count: kept.length },
      { paths: kept.map((k) => k.path), ids: topics.ids && kept.map((k) => k.id!) },
      input,
      g,
      (raw) => raw as DatasetRecord,
    );
    for (const [k, v] of Object.entries(rejected)) outcome.rejected[k] = (outcome.rejected[k] ?? 0) + v;
    return { ...outcome, inputTokens: examples.reduce((n, p) => n + p.inputTokens, 0), outputTokens: examples.reduce((n, p) => n + p.outputTokens, 0) };
  }

  /** Records the failed calls in the batch's errors log and throws the batch's failure (final when the policy does not retry it). */
  private async fail(failures: FailedCall[]): Promise<never> {
    const { input, store } = this.p;
    const modelErrors = failures.map((f) => f.error).filter((e): e is ModelError => e instanceof ModelError);
    const other = failures.find((f) => !(f.error instanceof ModelError));
    if (other) throw other.error; // a store or network failure of this worker: retried with the slice
    const worst = worstFailure(modelErrors, input.retryOnErrors);
    // Final: the slice's retry (if any) does not call for this batch again (see `open`).
    const final = !retryableUnder({ category: worst.category, nonRetryable: !worst.retryable }, input.retryOnErrors);
    const entries: Record<string, unknown>[] = [];
    for (const { error, usage } of failures) {
      const err = error as ModelError;
      const entry = {
        attempt: this.attempt,
        // The workflow run (execution) whose attempt this was: a later run of the dataset starts afresh.
        run: this.p.ctx.info.workflowExecution?.runId,
        category: err.category,
        message: err.message.slice(0, 500),
        at: new Date().toISOString(),
        ...(usage ?? {}),
        ...(final ? { final } : {}),
      };
      entries.push(entry);
      await store.appendError(input.batchIndex, entry);
    }
    // The tokens of every failed attempt on record travel with the failure: a batch that fails for good still counts what it cost.
    throw toFailure(worst, { ...tokensOf([...this.previous, ...entries]), attempts: this.attempt });
  }

  /** Joins the calls' examples, drops duplicates, writes the shard (one atomic write) and returns the small summary. */
  private async finish(): Promise<BatchSummary> {
    const { input, store } = this.p;
    const rejected: Record<string, number> = {};
    const records: unknown[] = [];
    const topics: (string[] | undefined)[] = [];
    const notes: QualityNote[] = [];
    let quality: QualityCounts | undefined;
    // Answers that failed validation in earlier attempts were paid for too.
    let { inputTokens, outputTokens } = tokensOf(this.previous);
    // What was answered through a provider's batch API costs the batch price.
    let batchTokens = tokensOf(this.previous.filter((e) => e.batchPriced === true));
    let answered = 0;
    for (const c of this.calls) {
      const o = this.outcomes.get(c.call);
      if (!o) continue; // a stopped batch-mode run's call the provider never answered
      answered++;
      if (o.batchPriced) batchTokens = { inputTokens: batchTokens.inputTokens + o.inputTokens, outputTokens: batchTokens.outputTokens + o.outputTokens };
      records.push(...o.records);
      topics.push(...o.records.map((_, i) => o.topics?.[i]));
      notes.push(...o.records.map((_, i) => o.quality?.[i] ?? {}));
      if (o.qualityCounts) quality = addQualityCounts(quality, o.qualityCounts);
      for (const [k, v] of Object.entries(o.rejected)) rejected[k] = (rejected[k] ?? 0) + v;
      inputTokens += o.inputTokens;
      outputTokens += o.outputTokens;
    }
    // Duplicates of examples the run already holds are dropped here, so the workflow's top-ups replace them.
    const keep = input.dedup && records.length ? await dropDuplicates(store, input, this.attempt, records, rejected) : records.map(() => true);
    const kept = records.filter((_, i) => keep[i]);
    const keptTopics = topics.filter((_, i) => keep[i]);
    const keptNotes = notes.filter((_, i) => keep[i]);
    const summary: BatchSummary = {
      batchIndex: input.batchIndex,
      requested: input.count,
      accepted: kept.length,
      rejected,
      errors: countBy(this.previous, 'category') as Record<ErrorCategory, number>,
      attempts: this.attempt,
      // Every call that answered plus every failed call on record (all attempts): what was paid for.
      calls: answered + this.previous.length,
      inputTokens,
      outputTokens,
      ...(batchTokens.inputTokens || batchTokens.outputTokens
        ? { batchInputTokens: batchTokens.inputTokens, batchOutputTokens: batchTokens.outputTokens }
        : {}),
      latencyMs: Date.now() - this.started,
      finishedAtMs: Date.now(),
      cached: false,
      ...(kept.length ? { sample: previewText(kept[0] as DatasetRecord) } : {}),
      ...(quality ? { quality } : {}),
    };
    // The stored summary also keeps each record's topic (the manifest's diversity) and its maker; the workflow gets the small one.
    const stored: StoredSummary = {
      ...summary,
      madeBy: this.p.madeBy,
      ...(keptTopics.every(Boolean) ? { recordTopics: keptTopics as string[][] } : {}),
      ...(hasGates(input.generation.quality) ? { recordQuality: keptNotes } : {}),
    };
    await store.writeShard(input.batchIndex, { summary: stored, records: kept });
    return summary;
  }
}
