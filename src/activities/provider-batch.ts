/**
 * Batch mode's activities: a chunk of the run's batches goes to the provider's batch API as one
 * provider batch (one line per model call), and comes back as the same call checkpoints a live call
 * writes, so the run's last step (`generateSlice` with `fromProviderBatch`) builds the same shards,
 * dedup and summaries as a live run.
 *
 * NEVER SUBMITTED TWICE. Before creating a provider batch, `submitProviderBatch` records its intent
 * (tag, time, line count) in the run store; the provider's batch id is recorded the moment the
 * provider returns it. A retried or restarted submission that finds an id returns it; one that finds
 * only the intent (the worker died between the provider's answer and the record) first asks the
 * provider for a batch made with this tag since the intent (OpenAI: the batch's metadata; Anthropic,
 * which has none: creation time and line count, proven by the custom ids once it has ended), and
 * creates only when there is none.
 */
import { createHash } from 'node:crypto';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { z } from 'zod';
import { ModelError } from '../errors';
import { AmbiguousBatchError, type BatchLine, type LineResult, type ProviderBatchState } from '../llm/batch-api';
import type { ProviderFactory } from '../llm/provider-factory';
import { runDataFor, StoreMismatchError, type RunData, type Store } from '../storage/store';
import { callOutcome, callRequest, splitCalls } from './batch-answers';
import { topicsFor } from './batch-topics';
import { toFailure } from './to-failure';
import { CallOutcomeSchema, parseCheckpoint, type BatchInput, type SliceInput } from './types';

/** Where a chunk's provider batch of round `r` is recorded: a call record of the chunk's first batch, past its calls and agent progress. */
const PROVIDER_BATCH_KEY = 2000;
/** Where a collected round's counts are recorded (collection is idempotent). */
const COLLECTED_KEY = 3000;

/**
 * A chunk of batches on its way through a provider batch: the slice's input, which round of
 * resubmission, and the run's provider batches known so far (not this chunk's: see `find`).
 */
export type ChunkInput = SliceInput & { round: number; knownProviderBatchIds?: string[] | undefined };

const SubmissionRecordSchema = z.object({
  tag: z.string(),
  sinceMs: z.number(),
  lines: z.number().int(),
  firstCustomId: z.string(),
  id: z.string().optional(),
});

/** What a submission returns: the provider batch (none when every call of the chunk is already answered). */
export interface ChunkSubmitted {
  providerBatchId?: string;
  lines: number;
  /** True when this attempt found the batch an earlier attempt made (recorded, or at the provider). */
  reused: boolean;
  state?: ProviderBatchState;
  /** Worker clock when it returned (ms since epoch): data in history, so the workflow's deadline replays the same. */
  atMs: number;
}

/** What collecting a provider batch wrote into the run store, by line outcome. */
export interface ChunkCollected {
  succeeded: number;
  /** Answered, but the answer failed validation (paid; its error is on record, as a live call's). */
  unusable: number;
  errored: number;
  expired: number;
  cancelled: number;
  /** Calls of the chunk still without an answer (resubmitted, or made live). */
  missing: number;
}

export interface PollInput {
  runId: string;
  model: SliceInput['generation']['model'];
  providerBatchId: string;
  /** The state the workflow last saw: the poll returns when this changes (or the batch ends). */
  last?: { status: string; succeeded: number; total: number } | undefined;
  /** After this (ms since epoch) the poll returns, so the workflow sends the rest live. */
  deadlineAtMs?: number | undefined;
}

/** A provider batch's state as a poll or a cancellation saw it, at `atMs` (worker clock). */
export type PollResult = ProviderBatchState & { deadlinePassed?: boolean; atMs?: number };

/** A line's custom id: the run (a short hash of its id), the batch and the call. */
export function customId(runId: string, batchIndex: number, call: number): string {
  return `r${createHash('sha256').update(runId).digest('hex').slice(0, 10)}-b${batchIndex}-c${call}`;
}

function parseCustomId(id: string): { batchIndex: number; call: number } | undefined {
  const m = /-b(\d+)-c(\d+)$/.exec(id);
  return m ? { batchIndex: Number(m[1]), call: Number(m[2]) } : undefined;
}

/** Runs `fn` heartbeating every second, so a killed worker's attempt is retried elsewhere after the run's heartbeat timeout. */
async function beating<T>(fn: () => Promise<T>): Promise<T> {
  const ctx = Context.current();
  const beat = setInterval(() => ctx.heartbeat(), 1000);
  try {
    return await fn();
  } finally {
    clearInterval(beat);
  }
}

/** Moves a counts step on every tenth of the lines, so polling returns a handful of times per batch, not on every line. */
const step = (succeeded: number, total: number) => (total > 0 ? Math.floor((succeeded * 10) / total) : 0);

export function makeProviderBatchActivities(providers: ProviderFactory, runStore: Store) {
  const storeOf = (input: { runId: string; storeId: string }) =>
    runDataFor(runStore, input).catch((err: unknown) => {
      if (err instanceof StoreMismatchError) throw ApplicationFailure.nonRetryable(err.message, 'configuration_error');
      throw err;
    });
  const asFailure = (err: unknown): unknown => (err instanceof ModelError ? toFailure(err) : err);

  /** The lines of the chunk's calls that have no answer yet, each built as its live call would be. */
  async function missingLines(input: ChunkInput, store: RunData): Promise<BatchLine[]> {
    const { batches, callsInFlight: _c, round: _r, knownProviderBatchIds: _k, ...shared } = input;
    const g = input.generation;
    const lines: BatchLine[] = [];
    for (const b of batches) {
      const batch: BatchInput = { ...shared, ...b };
      const calls = splitCalls(b.firstExample, b.count, input.examplesPerCall);
      const [topics, done, errors] = await Promise.all([
        topicsFor(batch, store),
        store.readCalls(
          b.batchIndex,
          calls.map((c) => c.call),
        ),
        store.readErrors(b.batchIndex),
      ]);
      const feedback = [...errors].reverse().find((e) => e.category === 'validation_error' || e.category === 'json_parse_error');
      for (const c of calls) {
        if (parseCheckpoint(CallOutcomeSchema, done.get(c.call))) continue;
        const from = c.firstExample - b.firstExample;
        const ask = callRequest(g, topics.paths.slice(from, from + c.count), c.count, feedback ? String(feedback.message) : undefined);
        lines.push({
          customId: customId(input.runId, b.batchIndex, c.call),
          request: {
            system: g.systemPrompt,
            prompt: ask.prompt,
            jsonSchema: ask.jsonSchema,
            schemaName: ask.schemaName,
            temperature: g.temperature,
            maxTokens: g.maxTokens,
          },
        });
      }
    }
    return lines;
  }

  async function submitProviderBatch(input: ChunkInput): Promise<ChunkSubmitted> {
    const store = await storeOf(input);
    const key = input.batches[0]!.batchIndex;
    const recordKey = PROVIDER_BATCH_KEY + input.round;
    const record = parseCheckpoint(SubmissionRecordSchema, await store.readCall(key, recordKey));
    if (record?.id) return { providerBatchId: record.id, lines: record.lines, reused: true, atMs: Date.now() };
    if (input.generation.conversationType === 'agent' && input.generation.tools)
      throw ApplicationFailure.nonRetryable(
        'call_mode batch: an agent with tools needs the answer of each step before the next; use live calls',
        'configuration_error',
      );
    try {
      const api = providers.batchApi(input.generation.model);
      const lines = await missingLines(input, store);
      if (!lines.length) return { lines: 0, reused: false, atMs: Date.now() };
      if (lines.length > api.maxLines)
        throw ApplicationFailure.nonRetryable(
          `a provider batch holds at most ${api.maxLines} lines; this chunk has ${lines.length}: lower batch_api.max_requests`,
          'configuration_error',
        );
      const bytes = api.size(lines);
      if (bytes > api.maxBytes)
        throw ApplicationFailure.nonRetryable(
          `this chunk's requests are ${(bytes / 1e6).toFixed(1)} MB, over the provider's ${(api.maxBytes / 1e6).toFixed(0)} MB per batch: lower batch_api.max_requests`,
          'configuration_error',
        );
      const tag = `${input.runId}|b${key}|r${input.round}`;
      const expect = { lines: lines.length, firstCustomId: lines[0]!.customId };
      if (record) {
        // An earlier attempt meant to create this batch: the provider may have it already.
        const found = await api.find(tag, expect, record.sinceMs, input.knownProviderBatchIds ?? []).catch((err: unknown) => {
          // Retried with the run's policy; the candidates end within a day and their lines then tell.
          if (err instanceof AmbiguousBatchError) throw ApplicationFailure.create({ type: 'server_error', message: err.message, nextRetryDelay: '1m' });
          throw err;
        });
        if (found) {
          await store.writeCall(key, recordKey, { ...record, id: found.id }, { replace: true });
          return { providerBatchId: found.id, lines: record.lines, reused: true, state: found, atMs: Date.now() };
        }
      }
      const intent = { tag, sinceMs: Date.now(), ...expect };
      await store.writeCall(key, recordKey, intent, { replace: true });
      const created = await api.create(lines, tag);
      await store.writeCall(key, recordKey, { ...intent, id: created.id }, { replace: true });
      return { providerBatchId: created.id, lines: lines.length, reused: false, state: created, atMs: Date.now() };
    } catch (err) {
      throw asFailure(err);
    }
  }

  /**
   * The provider batch's state, returned when it differs from what the workflow last saw (its
   * status, or another tenth of its lines answered), when it has ended, or when the deadline has
   * passed; otherwise the poll fails, and its retry policy (the poll interval, no backoff, no
   * limit) asks again later: a day of waiting adds a handful of events to the run's history.
   */
  async function pollProviderBatch(input: PollInput): Promise<PollResult> {
    let state: ProviderBatchState;
    try {
      state = await providers.batchApi(input.model).retrieve(input.providerBatchId);
    } catch (err) {
      throw asFailure(err);
    }
    const atMs = Date.now();
    if (state.ended) return { ...state, atMs };
    if (input.deadlineAtMs !== undefined && atMs >= input.deadlineAtMs) return { ...state, deadlinePassed: true, atMs };
    const last = input.last;
    if (!last || last.status !== state.status || step(last.succeeded, last.total) !== step(state.counts.succeeded, state.counts.total))
      return { ...state, atMs };
    throw ApplicationFailure.create({
      type: 'batch_pending',
      message: `provider batch ${state.id} is ${state.status} (${state.counts.succeeded} of ${state.counts.total} lines answered)`,
    });
  }

  /** Cancels a provider batch and waits until the provider says it has ended (its finished lines stay readable). */
  async function cancelProviderBatch(input: PollInput): Promise<PollResult> {
    const ctx = Context.current();
    try {
      const api = providers.batchApi(input.model);
      let state = await api.retrieve(input.providerBatchId);
      if (!state.ended) state = await api.cancel(input.providerBatchId);
      while (!state.ended) {
        ctx.heartbeat(state.status);
        await ctx.sleep(2000);
        state = await api.retrieve(input.providerBatchId);
      }
      return { ...state, atMs: Date.now() };
    } catch (err) {
      throw asFailure(err);
    }
  }

  /**
   * Reads an ended provider batch's lines into the run store: each answer validated and checkpointed
   * as its live call would be (tokens at the batch price), an unusable answer in the batch's error log
   * (paid, and its error fed back to the next prompt). Idempotent: a retry rewrites the same
   * checkpoints, never logs an error twice, and a round collected before returns its counts.
   */
  async function collectProviderBatch(input: ChunkInput & { providerBatchId: string }): Promise<ChunkCollected> {
    const store = await storeOf(input);
    const key = input.batches[0]!.batchIndex;
    const marker = await store.readCall<ChunkCollected & { id: string }>(key, COLLECTED_KEY + input.round);
    if (marker && marker.id === input.providerBatchId) {
      const { id: _id, ...counts } = marker;
      return counts;
    }
    let results: LineResult[];
    try {
      results = await providers.batchApi(input.generation.model).results(input.providerBatchId);
    } catch (err) {
      throw asFailure(err);
    }
    const { batches, callsInFlight: _c, round: _r, knownProviderBatchIds: _k, providerBatchId: _p, ...shared } = input;
    const counts: ChunkCollected = { succeeded: 0, unusable: 0, errored: 0, expired: 0, cancelled: 0, missing: 0 };
    const byBatch = new Map(batches.map((b) => [b.batchIndex, b]));
    const answered = new Set<string>();
    const topicsOf = new Map<number, Awaited<ReturnType<typeof topicsFor>>>();
    const logged = new Map<number, Set<string>>();
    for (const line of results) {
      const at = parseCustomId(line.customId);
      const b = at && byBatch.get(at.batchIndex);
      // Not a line of this chunk (nor of this run: the id names the run).
      if (!at || !b || line.customId !== customId(input.runId, at.batchIndex, at.call)) continue;
      if (!('result' in line)) {
        if (line.kind !== 'unusable') {
          counts[line.kind]++;
          continue;
        }
      }
      const batch: BatchInput = { ...shared, ...b };
      const c = splitCalls(b.firstExample, b.count, input.examplesPerCall).find((x) => x.call === at.call);
      if (!c) continue;
      if (!topicsOf.has(b.batchIndex)) topicsOf.set(b.batchIndex, await topicsFor(batch, store));
      const topics = topicsOf.get(b.batchIndex)!;
      const from = c.firstExample - b.firstExample;
      const slice = { paths: topics.paths.slice(from, from + c.count), ids: topics.ids?.slice(from, from + c.count) };
      try {
        if (!('result' in line)) throw line.error;
        await store.writeCall(b.batchIndex, c.call, await callOutcome(line.result, c, slice, batch, true));
        counts.succeeded++;
        answered.add(line.customId);
      } catch (err) {
        if (!(err instanceof ModelError)) throw err;
        counts.unusable++;
        // Logged once per line, whatever the retries of this activity.
        const seen = logged.get(b.batchIndex) ?? new Set((await store.readErrors(b.batchIndex)).map((e) => String(e.line)));
        logged.set(b.batchIndex, seen);
        const lineRef = `${input.providerBatchId}/${line.customId}`;
        if (seen.has(lineRef)) continue;
        seen.add(lineRef);
        const usage = err.usage ?? ('result' in line ? line.result.usage : undefined);
        await store.appendError(b.batchIndex, {
          attempt: 0,
          category: err.category,
          message: err.message.slice(0, 500),
          at: new Date().toISOString(),
          line: lineRef,
          batchPriced: true,
          ...(usage ?? {}),
        });
      }
    }
    for (const b of batches) {
      const calls = splitCalls(b.firstExample, b.count, input.examplesPerCall);
      const done = await store.readCalls(
        b.batchIndex,
        calls.map((c) => c.call),
      );
      counts.missing += calls.filter((c) => !parseCheckpoint(CallOutcomeSchema, done.get(c.call))).length;
    }
    await store.writeCall(key, COLLECTED_KEY + input.round, { ...counts, id: input.providerBatchId }, { replace: true });
    return counts;
  }

  return {
    submitProviderBatch: (input: ChunkInput) => beating(() => submitProviderBatch(input)),
    pollProviderBatch: (input: PollInput) => beating(() => pollProviderBatch(input)),
    cancelProviderBatch,
    collectProviderBatch: (input: ChunkInput & { providerBatchId: string }) => beating(() => collectProviderBatch(input)),
  };
}
