import { ApplicationFailure, CancelledFailure, Context, log } from '@temporalio/activity';
import { toFailure } from './to-failure';
import { CallSlots } from './call-slots';
import { ModelError, type ErrorCategory } from '../errors';
import { randomUUID } from 'node:crypto';
import { pacingKey, type Pacer, type PacingSettings } from '../llm/pacing';
import { MAX_PACED_WAIT_SECONDS } from '../workflows/activity-options';
import { RUN_FATAL_TYPES } from '../workflows/failures';
import { claimFor, DedupIndex } from '../dataset/dedup';
import { batchSchema, recordText, toRecord, withTopicId, type DatasetRecord } from '../dataset/example-schemas';
import { applyContentFilters, MissingFilterError } from '../dataset/content-filters';
import { toStrictJsonSchema } from '../llm/json-schema';
import type { ProviderFactory } from '../llm/provider-factory';
import { renderBatchPrompt } from '../prompts/batch-prompt';
import { seedSpinSession, ToolSession } from '../tools/tools';
import { agentRecord, agentStepPrompt, AgentStepSchema, applyAgentStep } from './agent-loop';
import { runDataFor, StoreMismatchError, type RunData, type Store } from '../storage/store';
import { branchesOf, pathIndexForSlot } from '../topics/sampling';
import { readTopicPathsFile } from '../topics/topic-paths-file';
import type { ConversationType } from '../config/run-input';
import {
  AgentCallProgressSchema,
  CallOutcomeSchema,
  parseCheckpoint,
  StoredSummarySchema,
  type AgentProgress,
  type BatchInput,
  type BatchSummary,
  type SliceBatchFailure,
  type SliceInput,
  type SliceResult,
  type CallOutcome,
  type ExecutedCall,
  type StoredSummary,
} from './types';

export type { StoredSummary } from './types';

const branchCache = new WeakMap<string[][], number[][]>();
function cachedBranches(paths: string[][]): number[][] {
  let b = branchCache.get(paths);
  if (!b) {
    b = branchesOf(paths);
    branchCache.set(paths, b);
  }
  return b;
}

async function topicPathsFor(input: BatchInput, run: RunData): Promise<string[][]> {
  if (input.topicPaths) return input.topicPaths;
  if (!input.topicsRef) throw ApplicationFailure.nonRetryable(`batch ${input.batchIndex} has no topics`, 'bad_request');
  const all = input.topicsRef.stored ? await storedTopics(input.runId, run) : await readTopicPathsFile(input.topicsRef.file);
  const plan = {
    ...input.topicsRef.sampling,
    count: all.length,
    branches: input.topicsRef.sampling.strategy === 'balanced' ? cachedBranches(all) : undefined,
  };
  return Array.from({ length: input.count }, (_, i) => all[pathIndexForSlot(plan, input.slotStart + i)]!);
}

/** A run's stored topic paths, read once per process (a 100k-path set is read for every batch otherwise). */
const topicsCache = new Map<string, Promise<string[][]>>();
function storedTopics(runId: string, run: RunData): Promise<string[][]> {
  let hit = topicsCache.get(runId);
  if (!hit) {
    hit = run.readTopics();
    hit.catch(() => topicsCache.delete(runId));
    if (topicsCache.size > 16) topicsCache.delete(topicsCache.keys().next().value!);
    topicsCache.set(runId, hit);
  }
  return hit;
}

const jsonSchemaCache = new Map<string, Record<string, unknown>>();

/** The batch answer's strict JSON schema, built once per (type, count) per process. */
function jsonSchemaFor(type: ConversationType, count: number): Record<string, unknown> {
  const key = `${type}:${count}`;
  let hit = jsonSchemaCache.get(key);
  if (!hit) {
    hit = toStrictJsonSchema(batchSchema(type, count));
    jsonSchemaCache.set(key, hit);
  }
  return hit;
}

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

function countBy(entries: Record<string, unknown>[], key: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const e of entries) {
    const k = String(e[key]);
    out[k] = (out[k] ?? 0) + 1;
  }
  return out;
}

/** The model calls of a batch: consecutive slot ranges of at most `examplesPerCall` examples. */
export function splitCalls(slotStart: number, count: number, examplesPerCall: number): { call: number; slotStart: number; count: number }[] {
  const per = Math.max(1, examplesPerCall);
  return Array.from({ length: Math.ceil(count / per) }, (_, call) => ({ call, slotStart: slotStart + call * per, count: Math.min(per, count - call * per) }));
}

/** A call that failed after the provider answered (its tokens were paid for) or before (no usage). */
class FailedCall {
  constructor(
    readonly error: unknown,
    readonly usage: { inputTokens: number; outputTokens: number } | undefined,
  ) {}
}

/** Tokens recorded with failed attempts in the batch's error log. */
function tokensOf(entries: Record<string, unknown>[]): { inputTokens: number; outputTokens: number } {
  let inputTokens = 0;
  let outputTokens = 0;
  for (const e of entries) {
    inputTokens += typeof e.inputTokens === 'number' ? e.inputTokens : 0;
    outputTokens += typeof e.outputTokens === 'number' ? e.outputTokens : 0;
  }
  return { inputTokens, outputTokens };
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

/** An example as one short line for the run's memo (the UI shows it): its turns, cut to 300 characters. */
function previewText(record: DatasetRecord): string {
  const text = recordText(record).replace(/\s+/g, ' ').trim();
  return text.length > 300 ? `${text.slice(0, 299)}…` : text;
}

/** A fatal category first: it must reach the workflow even when another call failed retryably. */
function worstFailure(errs: ModelError[]): ModelError {
  return errs.find((e) => !e.retryable) ?? errs[0]!;
}

/**
 * Generates one batch: its model calls (`examplesPerCall` examples each) run concurrently; each
 * answer is validated and filtered example by example, and each finished call is checkpointed, so a
 * retry of the batch (Temporal's retry policy) redoes only the calls that had not finished. When all
 * calls are done, their accepted examples are written as the batch's shard (one atomic write). A
 * batch whose shard exists returns its stored summary without calling the model, so retries,
 * replays and restarts never pay twice.
 */
export function makeGenerateBatch(providers: ProviderFactory, runStore: Store) {
  const runBatch = makeBatchRunner(providers, runStore);
  return async function generateBatch(input: BatchInput): Promise<BatchSummary> {
    return runBatch(input, { heartbeat: true });
  };
}

/**
 * Generates the batches of one slice in one activity: all of their calls share `callsInFlight`
 * slots, so a call that finishes hands its slot to the next call at once, in batch order, instead
 * of waiting for its batch to end and the workflow to schedule the next. Each batch is exactly what
 * `generateBatch` would do (checkpoints, shard, summary). A batch that fails is reported, not
 * thrown: its neighbours keep their results, and the workflow retries it on its own with the run's
 * retry policy. A killed worker's slice is retried by Temporal (heartbeat timeout), and its batches
 * resume from their shards and call checkpoints.
 */
export function makeGenerateSlice(providers: ProviderFactory, runStore: Store) {
  const runBatch = makeBatchRunner(providers, runStore);
  return async function generateSlice(input: SliceInput): Promise<SliceResult> {
    const ctx = Context.current();
    const slots = new CallSlots(input.callsInFlight);
    const { batches, callsInFlight: _slots, ...shared } = input;
    const done: number[] = [];
    const beat = setInterval(() => ctx.heartbeat({ slice: batches[0]!.batchIndex, batchesDone: done, callsBusy: slots.busy }), 1000);
    try {
      const results = await Promise.all(
        batches.map(async (b) => {
          try {
            const summary = await runBatch({ ...shared, ...b }, { slots, heartbeat: false });
            done.push(b.batchIndex);
            return { batchIndex: b.batchIndex, summary };
          } catch (err) {
            const failure = sliceFailure(err);
            // A failure that ends the run (a refused key, an unreachable endpoint) starts no more calls here.
            if (RUN_FATAL_TYPES.includes(failure.category)) slots.close(new SliceStopped(failure));
            return { batchIndex: b.batchIndex, failure };
          }
        }),
      );
      // A cancelled slice (the run cancelled, the worker shutting down) still reports the batches it
      // finished, so the run's stats count what its store holds; the others are reported `cancelled`.
      return { batches: results };
    } finally {
      clearInterval(beat);
    }
  };
}

/** Why the calls of a slice that had not started were not made: another batch's failure ended the run. */
class SliceStopped extends Error {
  constructor(readonly failure: SliceBatchFailure) {
    super(`not started: ${failure.message}`);
  }
}

/** A batch's failure inside a slice, as the workflow would read it from a batch activity's failure. */
function sliceFailure(err: unknown): SliceBatchFailure {
  if (err instanceof SliceStopped) return { ...err.failure, message: err.message };
  if (err instanceof CancelledFailure) return { category: 'cancelled', message: err.message || 'cancelled', nonRetryable: false, details: {} };
  if (err instanceof ApplicationFailure) {
    const details = (err.details?.[0] ?? {}) as SliceBatchFailure['details'];
    const retryAfter = typeof err.nextRetryDelay === 'number' ? { retryAfterMs: err.nextRetryDelay } : {};
    return { category: err.type || 'server_error', message: err.message, nonRetryable: err.nonRetryable === true, details, ...retryAfter };
  }
  return { category: 'server_error', message: err instanceof Error ? err.message : String(err), nonRetryable: false, details: {} };
}

/** How a batch runs: alone (its own activity, its own heartbeats) or inside a slice (the slice's call slots). */
interface RunOptions {
  /** Calls wait for one of these slots (a slice's); absent: all of the batch's calls run at once. */
  slots?: CallSlots;
  /** Heartbeat from this batch (a batch activity); a slice heartbeats for all of its batches. */
  heartbeat: boolean;
}

function makeBatchRunner(providers: ProviderFactory, runStore: Store) {
  return async function runBatch(input: BatchInput, opts: RunOptions): Promise<BatchSummary> {
    const ctx = Context.current();
    // A batch retried on its own after its slice reported it failed counts the slice's attempt too.
    const attempt = ctx.info.attempt + (input.priorAttempts ?? 0);
    const store = await runDataFor(runStore, input).catch((err: unknown) => {
      if (err instanceof StoreMismatchError) throw ApplicationFailure.nonRetryable(err.message, 'configuration_error');
      throw err;
    });
    if (await store.hasShard(input.batchIndex)) {
      const { summary: raw } = await store.readShard<unknown>(input.batchIndex);
      const summary = StoredSummarySchema.safeParse(raw);
      if (!summary.success) {
        throw ApplicationFailure.nonRetryable(
          `batch ${input.batchIndex}: its stored shard has no readable summary (${summary.error.issues[0]?.message}); delete the shard to generate it again`,
          'store_error',
        );
      }
      const small: StoredSummary = { ...summary.data, cached: true };
      delete small.recordTopics; // the topics stay in the store, out of history
      return small;
    }

    const started = Date.now();
    // Only a retry can have failed attempts (and finished calls) on record.
    const previous = attempt > 1 ? await store.readErrors(input.batchIndex) : [];
    const lastValidation = [...previous].reverse().find((e) => e.category === 'validation_error' || e.category === 'json_parse_error');
    const g = input.generation;
    const topicPaths = await topicPathsFor(input, store);
    const calls = splitCalls(input.slotStart, input.count, input.examplesPerCall ?? input.count);

    // A retry reads the batch's checkpoints at once: finished calls, and agent calls' progress.
    const agent = g.conversationType === 'agent' && g.tools !== undefined;
    const checkpointKeys = calls.flatMap((c) => (agent ? [c.call, AGENT_PROGRESS_KEY + c.call] : [c.call]));
    const checkpoints = attempt > 1 ? await store.readCalls(input.batchIndex, checkpointKeys) : new Map<number, unknown>();
    const outcomes = new Map<number, CallOutcome>();
    for (const c of calls) {
      const done = parseCheckpoint(CallOutcomeSchema, checkpoints.get(c.call), (why) =>
        log.warn(`batch ${input.batchIndex} call ${c.call}: checkpoint unreadable (${why}); calling again`),
      );
      if (done) outcomes.set(c.call, done);
    }

    // Heartbeats let a dead worker's batch be retried after seconds, and deliver cancellation; they
    // name the calls already checkpointed. The first goes out after a second (fast calls cost none).
    const beat = opts.heartbeat ? setInterval(() => ctx.heartbeat({ batch: input.batchIndex, callsDone: [...outcomes.keys()] }), 1000) : undefined;
    // A batch retried on its own after its slice waits its backoff here (heartbeating, cancellable).
    if (input.retryDelayMs) await pause(input.retryDelayMs, ctx.cancellationSignal);

    /** One model call (paced); a failure becomes a FailedCall carrying what the provider charged, if anything. */
    const callModel = async (c: { call: number }, prompt: string, jsonSchema: Record<string, unknown>, schemaName: string) => {
      if (input.pacing) await waitForSlot(runStore, pacingKey(g.model), input.pacing, ctx.cancellationSignal);
      try {
        return await providers.get(g.model).generate({
          system: g.systemPrompt,
          prompt,
          jsonSchema,
          schemaName,
          temperature: g.temperature,
          maxTokens: g.maxTokens,
          timeoutMs: g.requestTimeoutSeconds * 1000,
          signal: ctx.cancellationSignal,
          headers: { 'x-deepfabric-batch': `${input.runId}/${input.batchIndex}`, ...(calls.length > 1 ? { 'x-deepfabric-call': String(c.call) } : {}) },
        });
      } catch (err) {
        // A 429 slows every worker's pacing of this endpoint down.
        if (input.pacing && err instanceof ModelError && err.category === 'rate_limit')
          await runStore.slowDown(pacingKey(g.model), input.pacing).catch(() => undefined);
        const fatal =
          err instanceof ModelError && err.unreachable && input.firstWave
            ? new ModelError(err.message, { category: 'unreachable', provider: err.provider, baseUrl: err.baseUrl, cause: err })
            : err instanceof ModelError && RUN_FATAL_TYPES.includes(err.category)
              ? err
              : undefined;
        // In a slice, a failure that ends the run starts no more calls (before this call's slot is handed on).
        if (fatal && opts.slots) opts.slots.close(new SliceStopped(sliceFailure(toFailure(fatal))));
        if (fatal && fatal !== err) throw fatal;
        throw new FailedCall(err, err instanceof ModelError ? err.usage : undefined);
      }
    };

    const runCall = async (c: { call: number; slotStart: number; count: number }): Promise<CallOutcome> => {
      const paths = topicPaths.slice(c.slotStart - input.slotStart, c.slotStart - input.slotStart + c.count);
      let outcome: CallOutcome;
      if (agent) {
        outcome = await runAgentCall(c, paths);
      } else {
        const prompt = renderBatchPrompt(g, paths, lastValidation ? String(lastValidation.message) : undefined);
        const result = await callModel(c, prompt, jsonSchemaFor(g.conversationType, c.count), `${g.conversationType}_batch`);
        try {
          outcome = {
            ...(await validateAnswer(result.object, c, paths, input, g)),
            inputTokens: result.usage.inputTokens,
            outputTokens: result.usage.outputTokens,
          };
        } catch (err) {
          throw new FailedCall(err, result.usage); // an answer that failed validation was paid for
        }
      }
      // In a slice every call is checkpointed (one appended line) before its slot goes to the next
      // call, so a killed worker loses at most the calls in flight, never more than `concurrency`.
      if (calls.length > 1 || opts.slots) await store.writeCall(input.batchIndex, c.call, outcome);
      outcomes.set(c.call, outcome);
      return outcome;
    };
    /**
     * In a slice a call holds one of its slots from its paced turn until its answer is checked and
     * checkpointed; the batch's shard, dedup and summary happen outside, while the slot already
     * serves the next call.
     */
    const runCallInSlot = (c: { call: number; slotStart: number; count: number }) => (opts.slots ? opts.slots.run(() => runCall(c)) : runCall(c));

    /**
     * The examples of one call, each an agent loop with its tools executed here. Each finished step
     * is checkpointed (the call's progress record), so a retry resumes every example at its next step.
     */
    const runAgentCall = async (c: { call: number; slotStart: number; count: number }, paths: string[][]): Promise<CallOutcome> => {
      const tools = g.tools!;
      const key = AGENT_PROGRESS_KEY + c.call;
      const saved = parseCheckpoint(AgentCallProgressSchema, checkpoints.get(key), (why) =>
        log.warn(`batch ${input.batchIndex} call ${c.call}: agent checkpoint unreadable (${why}); starting its examples again`),
      );
      const examples: AgentProgress[] = saved?.examples ?? [];
      const save = () => store.writeCall(input.batchIndex, key, { examples }, { replace: true });
      for (let i = 0; i < c.count; i++) {
        const progress = (examples[i] ??= { steps: [], inputTokens: 0, outputTokens: 0 });
        // Each example has its own tool session: the builtin file system starts from scenario_seed again.
        const session = new ToolSession(`${input.runId}-${input.batchIndex}-${c.slotStart + i}`, tools.seedFiles);
        for (const s of progress.steps)
          for (const call of s.calls) if (call.function_name === 'write_file' || call.function_name === 'delete_file') replayFileCall(session, call);
        // In Spin the session lives at the service: seeded before the example's first step (a resumed example's session has them).
        if (progress.steps.length === 0 && progress.final === undefined) await seedSpinSession(tools, session, ctx.cancellationSignal);
        let feedback = lastValidation ? String(lastValidation.message) : undefined;
        while (progress.final === undefined) {
          const prompt = agentStepPrompt({ instructions: g.instructions, topicPath: paths[i] ?? [], tools, progress, previousError: feedback });
          const result = await callModel(c, prompt, agentStepJsonSchema(), 'agent_step');
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
        agentRecord(p, tools, { sysMsg: g.sysMsg, systemPrompt: g.datasetSystemPrompt ?? g.systemPrompt, idSeed: `${input.runId}/${c.slotStart + i}` }),
      );
      const kept = built.flatMap((r, i) => (r ? [{ r, path: paths[i]! }] : []));
      if (kept.length < built.length) rejected['more tool calls than max_per_query'] = built.length - kept.length;
      const outcome = await validateAnswer(
        { examples: kept.map((k) => k.r) },
        { ...c, count: kept.length },
        kept.map((k) => k.path),
        input,
        g,
        (raw) => raw as DatasetRecord,
      );
      for (const [k, v] of Object.entries(rejected)) outcome.rejected[k] = (outcome.rejected[k] ?? 0) + v;
      return { ...outcome, inputTokens: examples.reduce((n, p) => n + p.inputTokens, 0), outputTokens: examples.reduce((n, p) => n + p.outputTokens, 0) };
    };

    const settled = await Promise.allSettled(calls.filter((c) => !outcomes.has(c.call)).map(runCallInSlot));
    if (beat) clearInterval(beat);
    // A cancelled batch ends as cancelled (not as a timeout), so the workflow sees a cancellation.
    if (ctx.cancellationSignal.aborted) await ctx.cancelled;
    const failures = settled.flatMap((r) => (r.status === 'rejected' ? [r.reason instanceof FailedCall ? r.reason : new FailedCall(r.reason, undefined)] : []));
    if (failures.length) {
      const modelErrors: ModelError[] = [];
      const entries: Record<string, unknown>[] = [];
      for (const { error: err, usage } of failures) {
        if (!(err instanceof ModelError)) throw err;
        modelErrors.push(err);
        const entry = { attempt, category: err.category, message: err.message.slice(0, 500), at: new Date().toISOString(), ...(usage ?? {}) };
        entries.push(entry);
        await store.appendError(input.batchIndex, entry);
      }
      // The tokens of every failed attempt on record travel with the failure: a batch that fails for good still counts what it cost.
      throw toFailure(worstFailure(modelErrors), tokensOf([...previous, ...entries]));
    }

    const rejected: Record<string, number> = {};
    const records: unknown[] = [];
    const topics: (string[] | undefined)[] = [];
    // Answers that failed validation in earlier attempts were paid for too.
    let { inputTokens, outputTokens } = tokensOf(previous);
    for (const c of calls) {
      const o = outcomes.get(c.call)!;
      records.push(...o.records);
      topics.push(...o.records.map((_, i) => o.topics?.[i]));
      for (const [k, v] of Object.entries(o.rejected)) rejected[k] = (rejected[k] ?? 0) + v;
      inputTokens += o.inputTokens;
      outputTokens += o.outputTokens;
    }
    // Duplicates of examples the run already holds are dropped here, so the workflow's top-ups replace them.
    const keep = input.dedup && records.length ? await dropDuplicates(store, input, attempt, records, rejected) : records.map(() => true);
    const kept = records.filter((_, i) => keep[i]);
    const keptTopics = topics.filter((_, i) => keep[i]);
    const summary: BatchSummary = {
      batchIndex: input.batchIndex,
      requested: input.count,
      accepted: kept.length,
      rejected,
      errors: countBy(previous, 'category') as Record<ErrorCategory, number>,
      attempts: attempt,
      // Every call that answered plus every failed call on record (all attempts): what was paid for.
      calls: calls.length + previous.length,
      inputTokens,
      outputTokens,
      latencyMs: Date.now() - started,
      finishedAtMs: Date.now(),
      cached: false,
      ...(kept.length ? { sample: previewText(kept[0] as DatasetRecord) } : {}),
    };
    // The stored summary also keeps each record's topic (the manifest's diversity); the workflow gets the small one.
    const stored: StoredSummary = keptTopics.every(Boolean) ? { ...summary, recordTopics: keptTopics as string[][] } : summary;
    await store.writeShard(input.batchIndex, { summary: stored, records: kept });
    return summary;
  };
}

/** Per run, the claims this process has read (log order) and where it stopped reading; a few runs at most. */
const dedupCache = new Map<string, { index: DedupIndex; next: number; queue: Promise<unknown>; waiting: Map<string, Map<number, number>> }>();

/**
 * Claims the batch's examples in the run's claims log, then reads the log: an example is a
 * duplicate when a claim before its own (another batch's, or an earlier example of this attempt)
 * has the same normalised text or, with `near`, a similar enough MinHash signature. Every worker
 * reads the same log in the same order, so two batches in flight at once never both keep one text.
 */
async function dropDuplicates(store: RunData, input: BatchInput, attemptNo: number, records: unknown[], rejected: Record<string, number>): Promise<boolean[]> {
  const settings = input.dedup!;
  const attempt = `${input.batchIndex}.${attemptNo}.${randomUUID().slice(0, 8)}`;
  const claims = records.map((r, slot) => claimFor(recordText(r as DatasetRecord), { attempt, batch: input.batchIndex, slot }, settings));
  let cache = dedupCache.get(input.runId);
  if (!cache) {
    if (dedupCache.size >= 4) dedupCache.delete(dedupCache.keys().next().value!);
    cache = { index: new DedupIndex(), next: 0, queue: Promise.resolve(), waiting: new Map() };
    dedupCache.set(input.runId, cache);
  }
  const c = cache;
  // Another batch of this process may read our claims first: whoever reads them notes their positions.
  const mine = new Map<number, number>();
  c.waiting.set(attempt, mine);
  try {
    await store.appendClaims(claims);
    // One reader of a run's log at a time in this process (the index is shared by its batches).
    const run = c.queue.then(async () => {
      const { claims: fresh, next } = await store.readClaims(c.next);
      for (const claim of fresh) {
        const at = c.index.add(claim);
        c.waiting.get(claim.attempt)?.set(claim.slot, at);
      }
      c.next = next;
      return records.map((_, slot) => {
        const at = mine.get(slot);
        if (at === undefined) return true; // not in the log (cannot happen after our append): keep
        const verdict = c.index.check(at, settings);
        if (!verdict.duplicate) return true;
        rejected[verdict.reason] = (rejected[verdict.reason] ?? 0) + 1;
        return false;
      });
    });
    c.queue = run.catch(() => undefined);
    return await run;
  } finally {
    c.waiting.delete(attempt);
  }
}

/**
 * Checks one call's answer example by example (schema, then content filters): one bad example
 * does not cost the call. An answer with no usable example fails as `validation_error`, so the
 * retry carries the error in its prompt (DeepFabric's feedback loop).
 */
async function validateAnswer(
  answer: unknown,
  c: { call: number; slotStart: number; count: number },
  paths: string[][],
  input: BatchInput,
  g: BatchInput['generation'],
  build: (raw: unknown) => DatasetRecord = (raw) =>
    toRecord(g.conversationType, raw, { sysMsg: g.sysMsg, systemPrompt: g.datasetSystemPrompt ?? g.systemPrompt }),
): Promise<{ records: unknown[]; topics: string[][]; rejected: Record<string, number> }> {
  const obj = answer as { examples?: unknown };
  if (!obj || !Array.isArray(obj.examples)) {
    throw new ModelError(`${g.model.provider}/${g.model.model}: the answer has no "examples" array (batch ${input.batchIndex})`, {
      category: 'validation_error',
      provider: g.model.provider,
    });
  }
  const rejected: Record<string, number> = {};
  const reject = (reason: string) => (rejected[reason] = (rejected[reason] ?? 0) + 1);
  const records: unknown[] = [];
  const topics: string[][] = [];
  let firstSchemaError: string | undefined;
  const examples = obj.examples.slice(0, c.count);
  if (obj.examples.length < c.count) rejected['missing from answer'] = c.count - obj.examples.length;
  for (let i = 0; i < examples.length; i++) {
    let record;
    try {
      record = build(examples[i]);
    } catch (err) {
      reject('validation_error');
      firstSchemaError ??= `example ${i + 1}: ${summarise(err)}`;
      continue;
    }
    const path = paths[i] ?? [];
    let verdict;
    try {
      verdict = await applyContentFilters(g.filters, recordText(record), record as Record<string, unknown>, path.join(' -> '), {
        batchIndex: input.batchIndex,
        slot: c.slotStart + i,
        topicPath: path,
        conversationType: g.conversationType,
      });
    } catch (err) {
      if (err instanceof MissingFilterError) throw ApplicationFailure.nonRetryable(err.message, 'configuration_error');
      throw err;
    }
    if (verdict.ok) {
      records.push(withTopicId(record, path));
      topics.push(path);
    } else reject(verdict.reason);
  }
  if (records.length === 0 && firstSchemaError) {
    throw new ModelError(`no example matched the ${g.conversationType} schema (batch ${input.batchIndex}): ${firstSchemaError}`, {
      category: 'validation_error',
      provider: g.model.provider,
    });
  }
  return { records, topics, rejected };
}

function summarise(err: unknown): string {
  const issues = (err as { issues?: { path: (string | number)[]; message: string }[] }).issues;
  if (issues?.length) {
    return issues
      .slice(0, 3)
      .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
      .join('; ');
  }
  return (err as Error).message ?? String(err);
}
