/**
 * A batch's answers: the strict JSON schema a call asks for, each answer checked example by example
 * (schema, content filters), and the small numbers a batch summary is made of.
 */
import { ApplicationFailure } from '@temporalio/activity';
import type { ConversationType } from '../config/run-input';
import { toCustomRecord, validatorOf } from '../config/output-schema';
import { applyContentFilters, MissingFilterError } from '../dataset/content-filters';
import { batchSchema, recordText, toRecord, withTopicId, type DatasetRecord } from '../dataset/example-schemas';
import { ModelError } from '../errors';
import { toStrictJsonSchema } from '../llm/json-schema';
import type { GenerateResult } from '../llm/provider';
import { renderBatchPrompt } from '../prompts/batch-prompt';
import type { BatchInput, CallOutcome } from './types';

const jsonSchemaCache = new Map<string, Record<string, unknown>>();

/** The batch answer's strict JSON schema, built once per (type, count) per process. */
export function jsonSchemaFor(type: ConversationType, count: number): Record<string, unknown> {
  const key = `${type}:${count}`;
  let hit = jsonSchemaCache.get(key);
  if (!hit) {
    hit = toStrictJsonSchema(batchSchema(type, count));
    jsonSchemaCache.set(key, hit);
  }
  return hit;
}

/** The JSON schema a custom-records call asks for (generation.output_schema): exactly `count` objects of the user's schema, in strict mode. */
export function customBatchSchema(schema: Record<string, unknown>, count: number): Record<string, unknown> {
  const key = `custom:${count}:${JSON.stringify(schema)}`;
  let hit = jsonSchemaCache.get(key);
  if (!hit) {
    hit = {
      type: 'object',
      properties: { examples: { type: 'array', items: toStrictJsonSchema(validatorOf(schema)), minItems: count, maxItems: count } },
      required: ['examples'],
      additionalProperties: false,
    };
    jsonSchemaCache.set(key, hit);
  }
  return hit;
}

/** The model calls of a batch: consecutive example ranges of at most `examplesPerCall` examples. */
export function splitCalls(firstExample: number, count: number, examplesPerCall: number): { call: number; firstExample: number; count: number }[] {
  const per = Math.max(1, examplesPerCall);
  return Array.from({ length: Math.ceil(count / per) }, (_, call) => ({
    call,
    firstExample: firstExample + call * per,
    count: Math.min(per, count - call * per),
  }));
}

export function countBy(entries: Record<string, unknown>[], key: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const e of entries) {
    const k = String(e[key]);
    out[k] = (out[k] ?? 0) + 1;
  }
  return out;
}

/** Tokens recorded with failed attempts in the batch's error log. */
export function tokensOf(entries: Record<string, unknown>[]): { inputTokens: number; outputTokens: number } {
  let inputTokens = 0;
  let outputTokens = 0;
  for (const e of entries) {
    inputTokens += typeof e.inputTokens === 'number' ? e.inputTokens : 0;
    outputTokens += typeof e.outputTokens === 'number' ? e.outputTokens : 0;
  }
  return { inputTokens, outputTokens };
}

/** An example as one short line for the run's memo (the UI shows it): its turns, cut to 300 characters. */
export function previewText(record: DatasetRecord): string {
  const text = recordText(record).replace(/\s+/g, ' ').trim();
  return text.length > 300 ? `${text.slice(0, 299)}…` : text;
}

/**
 * Checks one call's answer example by example (schema, then content filters): one bad example
 * does not cost the call. An answer with no usable example fails as `validation_error`, so the
 * retry carries the error in its prompt (DeepFabric's feedback loop).
 */
export async function validateAnswer(
  answer: unknown,
  c: { call: number; firstExample: number; count: number },
  given: { paths: string[][]; ids?: string[] | undefined },
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
    const path = given.paths[i] ?? [];
    let verdict;
    try {
      verdict = await applyContentFilters(g.filters, recordText(record), record as Record<string, unknown>, path.join(' -> '), {
        batchIndex: input.batchIndex,
        exampleIndex: c.firstExample + i,
        topicPath: path,
        conversationType: g.conversationType,
      });
    } catch (err) {
      if (err instanceof MissingFilterError) throw ApplicationFailure.nonRetryable(err.message, 'configuration_error');
      throw err;
    }
    if (verdict.ok) {
      // A custom record is the schema's object alone (DeepFabric adds no topic id to it either).
      records.push(g.outputSchema ? record : withTopicId(record, path, given.ids?.[i]));
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

/** What one call of a batch asks (a live call and a batch line alike): its prompt and the schema its answer must follow. */
export function callRequest(g: BatchInput['generation'], paths: string[][], count: number, previousError: string | undefined) {
  const prompt = renderBatchPrompt(g, paths, previousError);
  const custom = g.outputSchema;
  return custom
    ? { prompt, jsonSchema: customBatchSchema(custom, count), schemaName: 'custom_batch' }
    : { prompt, jsonSchema: jsonSchemaFor(g.conversationType, count), schemaName: `${g.conversationType}_batch` };
}

/** A call's checkpoint from its answer (a live call's, a batch line's): the examples validated and filtered, the tokens it cost. */
export async function callOutcome(
  result: GenerateResult,
  c: { call: number; firstExample: number; count: number },
  topics: { paths: string[][]; ids?: string[] | undefined },
  input: BatchInput,
  batchPriced = false,
): Promise<CallOutcome> {
  const g = input.generation;
  const custom = g.outputSchema;
  return {
    ...(await validateAnswer(result.object, c, topics, input, g, custom ? (raw) => toCustomRecord(custom, raw) as DatasetRecord : undefined)),
    inputTokens: result.usage.inputTokens,
    outputTokens: result.usage.outputTokens,
    ...(batchPriced ? { batchPriced } : {}),
  };
}
