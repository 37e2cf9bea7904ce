/**
 * What activities take and return, and what they keep in the run store, as zod schemas: the
 * types are derived from them (`z.infer`), and every checkpoint read back from a store is parsed
 * with its schema (`parseCheckpoint`), not cast, so a damaged or older file is noticed where it is read.
 */
import { z } from 'zod';
import { GenerationSettingsSchema, RunInputSchema } from '../config/run-input';
import { QualityCountsSchema, QualityNoteSchema } from '../config/quality';

/** Input of one batch: small, so history stays small. Topics come inline or are picked from the run's stored topics. */
const BatchInputSchema = z.object({
  runId: z.string(),
  /** The client's run folder (display only: the worker finds the run by id in its own store). */
  runDir: z.string(),
  /** The client's store id; the worker's store must have the same (see src/storage/store.ts). */
  storeId: z.string(),
  batchIndex: z.number().int().min(0),
  /** Index of this batch's first example and how many examples it asks for. */
  firstExample: z.number().int().min(0),
  count: z.number().int().min(0),
  /** The batch's topic paths, when the run's topics are inline. */
  topicPaths: z.array(z.array(z.string())).optional(),
  /** How to pick topic paths from the run's store when they are not inline (large topic sets, topic files). */
  topicsRef: z.object({ sampling: RunInputSchema.shape.sampling, count: z.number().int() }).optional(),
  generation: GenerationSettingsSchema,
  /**
   * True while no batch of the run has succeeded. A refused connection or unknown host then stops
   * the run at once (`unreachable`) instead of retrying every batch against nothing; later on it is
   * an ordinary, retried server error (an endpoint that answered before is probably restarting).
   */
  firstWave: z.boolean().optional(),
  /** Examples asked for in one model call; the batch runs `ceil(count / examplesPerCall)` calls. */
  examplesPerCall: z.number().int().positive(),
  /** Pace calls at the provider's limit (absent: no pacing). */
  pacing: z.object({ requestsPerMinute: z.number(), burst: z.number().int().optional() }).optional(),
  /** Drop duplicates of examples the run already holds (absent: off). */
  dedup: z.object({ exact: z.boolean(), near: z.number().optional() }).optional(),
  /**
   * The categories the run's retry policy retries (`RetryStrategy.retryOnErrors`): a batch whose
   * failure is outside them failed for good, and a retry of its slice does not call for it again.
   */
  retryOnErrors: z.array(z.string()),
  /**
   * Batch mode's last step: the batch's calls were answered through a provider's batch API, so its
   * checkpoints and error log are read at the first attempt; `live: false` (a stopped run) makes
   * no call for the calls still missing, and the shard holds what the provider answered.
   */
  fromProviderBatch: z.object({ live: z.boolean() }).optional(),
});
export type BatchInput = z.infer<typeof BatchInputSchema>;

/** One batch of a slice: its index, first example, size and (inline topics) its topic paths. */
const SliceBatchSchema = BatchInputSchema.pick({ batchIndex: true, firstExample: true, count: true, topicPaths: true });

/**
 * Input of one slice: several batches that share one activity and `callsInFlight` call slots; a
 * slot freed by a finished call goes to the next call at once (no round trip through the workflow).
 * What the batches share is written once.
 */
export const SliceInputSchema = BatchInputSchema.omit({
  batchIndex: true,
  firstExample: true,
  count: true,
  topicPaths: true,
}).extend({
  batches: z.array(SliceBatchSchema).min(1),
  callsInFlight: z.number().int().min(1),
});
export type SliceInput = z.infer<typeof SliceInputSchema>;

const Counts = z.record(z.string(), z.number());

/** What a batch reports back to the workflow: counts only, never the examples. */
const BatchSummarySchema = z.object({
  batchIndex: z.number().int(),
  requested: z.number().int(),
  accepted: z.number().int(),
  /** Examples dropped, by reason (schema errors, content filters). */
  rejected: Counts,
  /** Failed attempts of this batch, by error category. */
  errors: Counts,
  /** Attempts this batch took (1 = no retry). */
  attempts: z.number().int(),
  /** Model calls paid for, all attempts (absent in older summaries: one per attempt). */
  calls: z.number().int().optional(),
  inputTokens: z.number(),
  outputTokens: z.number(),
  /** The part of the tokens answered through a provider's batch API (the batch price). */
  batchInputTokens: z.number().optional(),
  batchOutputTokens: z.number().optional(),
  latencyMs: z.number(),
  /** Worker clock when the batch finished (ms since epoch); data, so replay stays deterministic. */
  finishedAtMs: z.number(),
  /** True when the shard already existed and nothing was generated. */
  cached: z.boolean(),
  /** The batch's first accepted example, cut to 300 characters: the run's memo shows the latest one in the UI. */
  sample: z.string().optional(),
  /** What its quality gates did (judge calls and tokens, score histograms, validator counts), when the run has any. */
  quality: QualityCountsSchema.optional(),
});
export type BatchSummary = z.infer<typeof BatchSummarySchema>;

/** Why a batch of a slice failed (category = the Temporal failure type). */
const SliceBatchFailureSchema = z.object({
  category: z.string(),
  message: z.string(),
  nonRetryable: z.boolean(),
  details: z.object({
    provider: z.string().optional(),
    status: z.number().nullable().optional(),
    baseUrl: z.string().optional(),
    inputTokens: z.number().optional(),
    outputTokens: z.number().optional(),
    /** Attempts the batch made (its slice's attempt when it failed). */
    attempts: z.number().int().optional(),
  }),
  /** The provider's retry-after (429): the slice's retry waits at least this long. */
  retryAfterMs: z.number().optional(),
});
export type SliceBatchFailure = z.infer<typeof SliceBatchFailureSchema>;

/**
 * What a slice reports: per batch, in input order, its summary or why it failed for good. A slice
 * with a batch that can still be retried fails instead (Temporal retries it), carrying this for
 * the batches it finished, in case that was its last attempt.
 */
export const SliceResultSchema = z.object({
  batches: z.array(z.object({ batchIndex: z.number().int(), summary: BatchSummarySchema.optional(), failure: SliceBatchFailureSchema.optional() })),
});
export type SliceResult = z.infer<typeof SliceResultSchema>;

/** A shard's summary as stored: the batch summary plus each record's topic path (the manifest's diversity) and its maker. */
export const StoredSummarySchema = BatchSummarySchema.extend({
  recordTopics: z.array(z.array(z.string())).optional(),
  /** The slice activity that wrote it (workflow run id / activity id): its retries count the batch as theirs, anyone else as cached. */
  madeBy: z.string().optional(),
  /** Each record's quality note (judge scores, flags), when the run has quality gates. */
  recordQuality: z.array(QualityNoteSchema).optional(),
});
export type StoredSummary = z.infer<typeof StoredSummarySchema>;

/** What one finished model call of a batch produced (its checkpoint). */
export const CallOutcomeSchema = z.object({
  records: z.array(z.unknown()),
  /** Each record's topic path (absent in checkpoints written before it was kept). */
  topics: z.array(z.array(z.string())).optional(),
  rejected: Counts,
  inputTokens: z.number(),
  outputTokens: z.number(),
  /** Answered through a provider's batch API: its tokens cost the batch price. */
  batchPriced: z.boolean().optional(),
  /** Each record's quality note, and what the call's quality gates did (runs with quality gates). */
  quality: z.array(QualityNoteSchema).optional(),
  qualityCounts: QualityCountsSchema.optional(),
});
export type CallOutcome = z.infer<typeof CallOutcomeSchema>;

/**
 * A call's progress through its quality gates (checkpointed after the validators and after each judge
 * call): its outcome after the validators, and the judge's answers so far, one per record in order.
 * A retry resumes from it: neither the generation call nor a finished judge call is paid twice.
 */
export const QualityProgressSchema = z.object({
  outcome: CallOutcomeSchema,
  judged: z.array(z.object({ scores: z.record(z.string(), z.number()), reason: z.string(), inputTokens: z.number(), outputTokens: z.number() })),
});
export type QualityProgress = z.infer<typeof QualityProgressSchema>;

/** One executed tool call of an agent example. */
const ExecutedCallSchema = z.object({ function_name: z.string(), arguments: z.string(), reasoning: z.string(), result: z.string() });
export type ExecutedCall = z.infer<typeof ExecutedCallSchema>;

/** An agent example's progress: what its checkpoint holds after each finished step. */
const AgentProgressSchema = z.object({
  question: z.string().optional(),
  steps: z.array(z.object({ thought: z.string(), calls: z.array(ExecutedCallSchema) })),
  final: z.string().optional(),
  /** The thought of the step that answered. */
  finalThought: z.string().optional(),
  inputTokens: z.number(),
  outputTokens: z.number(),
});
export type AgentProgress = z.infer<typeof AgentProgressSchema>;
export const AgentCallProgressSchema = z.object({ examples: z.array(AgentProgressSchema) });

export const AssembleInputSchema = z.object({
  runId: z.string(),
  runDir: z.string(),
  storeId: z.string(),
  numSteps: z.number().int(),
  /** Stats and run facts written into manifest.json. */
  manifest: z.record(z.string(), z.unknown()),
});
export type AssembleInput = z.infer<typeof AssembleInputSchema>;

export const AssembleResultSchema = z.object({ datasetPath: z.string(), manifestPath: z.string(), records: z.number().int(), partial: z.boolean() });
export type AssembleResult = z.infer<typeof AssembleResultSchema>;

/**
 * A checkpoint read back from a store, parsed: undefined when absent or unreadable (the work it
 * records is redone, which costs a call but never a wrong record), with `onBad` told why.
 */
export function parseCheckpoint<T>(schema: z.ZodType<T>, value: unknown, onBad?: (why: string) => void): T | undefined {
  if (value === undefined) return undefined;
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  onBad?.(
    r.error.issues
      .slice(0, 3)
      .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
      .join('; '),
  );
  return undefined;
}
