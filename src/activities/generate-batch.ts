import { ApplicationFailure, Context } from '@temporalio/activity';
import { toFailure } from './to-failure';
import { ModelError, type ErrorCategory } from '../errors';
import { batchSchema, recordText, toRecord } from '../dataset/example-schemas';
import { applyContentFilters, MissingFilterError } from '../dataset/content-filters';
import { toStrictJsonSchema } from '../llm/json-schema';
import type { ProviderFactory } from '../llm/provider-factory';
import { renderBatchPrompt } from '../prompts/batch-prompt';
import { runDataFor, StoreMismatchError, type RunData, type Store } from '../storage/store';
import { branchesOf, pathIndexForSlot } from '../topics/sampling';
import { readTopicPathsFile } from '../topics/topic-paths-file';
import type { ConversationType } from '../config/run-input';
import type { BatchInput, BatchSummary } from './types';

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

function countBy(entries: Record<string, unknown>[], key: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const e of entries) {
    const k = String(e[key]);
    out[k] = (out[k] ?? 0) + 1;
  }
  return out;
}

/**
 * Generates one batch: one structured call for `count` examples, each validated and filtered, the
 * accepted ones written atomically as the batch's shard. A batch whose shard exists returns its
 * stored summary without calling the model, so retries, replays and restarts never pay twice.
 */
export function makeGenerateBatch(providers: ProviderFactory, runStore: Store) {
  return async function generateBatch(input: BatchInput): Promise<BatchSummary> {
    const ctx = Context.current();
    const store = await runDataFor(runStore, input).catch((err: unknown) => {
      if (err instanceof StoreMismatchError) throw ApplicationFailure.nonRetryable(err.message, 'configuration_error');
      throw err;
    });
    if (await store.hasShard(input.batchIndex)) {
      const { summary } = await store.readShard<BatchSummary>(input.batchIndex);
      return { ...summary, cached: true };
    }

    const started = Date.now();
    // Only a retry can have failed attempts on record.
    const previous = ctx.info.attempt > 1 ? await store.readErrors(input.batchIndex) : [];
    const lastValidation = [...previous].reverse().find((e) => e.category === 'validation_error' || e.category === 'json_parse_error');
    const g = input.generation;
    const topicPaths = await topicPathsFor(input, store);
    const prompt = renderBatchPrompt(g, topicPaths, lastValidation ? String(lastValidation.message) : undefined);
    const jsonSchema = jsonSchemaFor(g.conversationType, input.count);

    // Heartbeats let a dead worker's batch be retried after seconds, and deliver cancellation. The
    // first one goes out after a second, so fast calls cost the server no heartbeat at all.
    const beat = setInterval(() => ctx.heartbeat({ batch: input.batchIndex }), 1000);

    const fail = async (err: ModelError): Promise<never> => {
      await store.appendError(input.batchIndex, {
        attempt: ctx.info.attempt,
        category: err.category,
        message: err.message.slice(0, 500),
        at: new Date().toISOString(),
      });
      throw toFailure(err);
    };

    let result;
    try {
      const provider = providers.get(g.model);
      result = await provider.generate({
        system: g.systemPrompt,
        prompt,
        jsonSchema,
        schemaName: `${g.conversationType}_batch`,
        temperature: g.temperature,
        maxTokens: g.maxTokens,
        timeoutMs: g.requestTimeoutSeconds * 1000,
        signal: ctx.cancellationSignal,
        headers: { 'x-deepfabric-batch': `${input.runId}/${input.batchIndex}` },
      });
    } catch (err) {
      clearInterval(beat);
      // A cancelled batch ends as cancelled (not as a timeout), so the workflow sees a cancellation.
      if (ctx.cancellationSignal.aborted) await ctx.cancelled;
      if (err instanceof ModelError && err.unreachable && input.firstWave) {
        return fail(new ModelError(err.message, { category: 'unreachable', provider: err.provider, baseUrl: err.baseUrl, cause: err }));
      }
      if (err instanceof ModelError) return fail(err);
      throw err;
    }
    clearInterval(beat);

    // Validate each example on its own, so one bad example does not cost the whole batch.
    const obj = result.object as { examples?: unknown };
    if (!obj || !Array.isArray(obj.examples)) {
      return fail(
        new ModelError(`${g.model.provider}/${g.model.model}: the answer has no "examples" array (batch ${input.batchIndex})`, {
          category: 'validation_error',
          provider: g.model.provider,
        }),
      );
    }
    const rejected: Record<string, number> = {};
    const reject = (reason: string) => (rejected[reason] = (rejected[reason] ?? 0) + 1);
    const records: unknown[] = [];
    let firstSchemaError: string | undefined;
    const examples = obj.examples.slice(0, input.count);
    if (obj.examples.length < input.count) rejected['missing from answer'] = input.count - obj.examples.length;
    for (let i = 0; i < examples.length; i++) {
      let record;
      try {
        record = toRecord(g.conversationType, examples[i], { sysMsg: g.sysMsg, systemPrompt: g.systemPrompt });
      } catch (err) {
        reject('validation_error');
        firstSchemaError ??= `example ${i + 1}: ${summarise(err)}`;
        continue;
      }
      const path = topicPaths[i] ?? [];
      let verdict;
      try {
        verdict = await applyContentFilters(g.filters, recordText(record), record as Record<string, unknown>, path.join(' -> '), {
          batchIndex: input.batchIndex,
          slot: input.slotStart + i,
          topicPath: path,
          conversationType: g.conversationType,
        });
      } catch (err) {
        if (err instanceof MissingFilterError) throw ApplicationFailure.nonRetryable(err.message, 'configuration_error');
        throw err;
      }
      if (verdict.ok) records.push(record);
      else reject(verdict.reason);
    }
    if (records.length === 0 && firstSchemaError) {
      // Nothing usable: retry with the validation error in the prompt (DeepFabric's feedback loop).
      return fail(
        new ModelError(`no example matched the ${g.conversationType} schema (batch ${input.batchIndex}): ${firstSchemaError}`, {
          category: 'validation_error',
          provider: g.model.provider,
        }),
      );
    }

    const summary: BatchSummary = {
      batchIndex: input.batchIndex,
      requested: input.count,
      accepted: records.length,
      rejected,
      errors: countBy(previous, 'category') as Record<ErrorCategory, number>,
      attempts: ctx.info.attempt,
      inputTokens: result.usage.inputTokens,
      outputTokens: result.usage.outputTokens,
      latencyMs: Date.now() - started,
      finishedAtMs: Date.now(),
      cached: false,
    };
    await store.writeShard(input.batchIndex, { summary, records });
    return summary;
  };
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
