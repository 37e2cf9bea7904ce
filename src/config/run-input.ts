import { z } from 'zod';
import { ModelSpecSchema } from './model-spec';
import { ERROR_CATEGORIES } from '../errors';
import { ToolsSettingsSchema } from '../tools/tools';
import { QualitySettingsSchema } from './quality';

/**
 * Output record kinds. `basic` … `tool_calling` are DeepFabric 2.x's (the seed API's);
 * `chain_of_thought` and `agent` are DeepFabric 4.x's `Conversation` records (`cot` with freetext
 * or agent reasoning; an agent with tools calls them and records the executed results).
 */
export const CONVERSATION_TYPES = ['basic', 'structured', 'cot_freetext', 'cot_structured', 'tool_calling', 'chain_of_thought', 'agent'] as const;
export const ConversationTypeSchema = z.enum(CONVERSATION_TYPES);
export type ConversationType = z.infer<typeof ConversationTypeSchema>;

/** How topic paths are assigned to example slots. */
const SAMPLING_STRATEGIES = ['sequential', 'random', 'balanced', 'custom'] as const;
export const SamplingStrategySchema = z.enum(SAMPLING_STRATEGIES);
export type SamplingStrategy = z.infer<typeof SamplingStrategySchema>;

export const ErrorCategorySchema = z.enum(ERROR_CATEGORIES);

/** Temporal retry policy, in the seed's words. */
export const RetryStrategySchema = z.object({
  maxRetries: z.number().int().min(0).max(100),
  backoffMultiplier: z.number().min(1).max(10),
  initialBackoffSeconds: z.number().positive().max(3600),
  maxBackoffSeconds: z.number().positive().max(86400),
  retryOnErrors: z.array(ErrorCategorySchema),
});
export type RetryStrategy = z.infer<typeof RetryStrategySchema>;

/** Declarative content filters: they travel with the run, so remote workers apply them too. */
export const DeclarativeFiltersSchema = z.object({
  minLength: z.number().int().min(0).optional(),
  maxLength: z.number().int().positive().optional(),
  bannedPhrases: z.array(z.string().min(1)).optional(),
  mustMatch: z.string().optional(),
  mustNotMatch: z.string().optional(),
  requiredFields: z.array(z.string().min(1)).optional(),
  /** Filters registered by name on the worker (`registerContentFilter`), applied in this order. */
  named: z.array(z.string().min(1)).optional(),
});
export type DeclarativeFilters = z.infer<typeof DeclarativeFiltersSchema>;

/** What one batch's prompt is built from. Contains no secret: it is stored in workflow history. */
export const GenerationSettingsSchema = z.object({
  model: ModelSpecSchema,
  instructions: z.string(),
  systemPrompt: z.string(),
  temperature: z.number().min(0).max(2),
  maxTokens: z.number().int().positive(),
  requestTimeoutSeconds: z.number().positive(),
  conversationType: ConversationTypeSchema,
  sysMsg: z.boolean(),
  /** The system message written into records when it differs from `systemPrompt` (DeepFabric 4.x's output.system_prompt). */
  datasetSystemPrompt: z.string().optional(),
  /** Per-example template; variables in braces (see `src/prompts/template.ts`). */
  template: z.string(),
  templateVars: z.record(z.string(), z.string()),
  /** A few example records shown to the model as `{examples}`. */
  fewShot: z.array(z.string()),
  filters: DeclarativeFiltersSchema,
  /** The tools an `agent` example calls, executed by the worker (absent: no tools). */
  tools: ToolsSettingsSchema.optional(),
  /**
   * DeepFabric 4.13's custom records (`generation.output_schema`): a JSON schema of an object; each
   * record is one such object, as the model answers it (the conversation type is not used).
   */
  outputSchema: z.record(z.string(), z.unknown()).optional(),
  /** Quality gates (validators, a judge model) each example passes before it is kept (see src/config/quality.ts). */
  quality: QualitySettingsSchema.optional(),
});
export type GenerationSettings = z.infer<typeof GenerationSettingsSchema>;

/** Where a run's topics live: inline for small sets, or in the run store (large sets, topic files): workers read them by run id from their own store. */
const RunTopicsSchema = z.union([
  z.object({ kind: z.literal('inline'), paths: z.array(z.array(z.string()).min(1)).min(1) }),
  z.object({ kind: z.literal('stored'), count: z.number().int().positive() }),
]);
/**
 * Where a planned run's topics come from: inline, a JSONL file on the client (one path per line), or
 * topics with ids of their own (a graph's nodes: DeepFabric's uuids, written into each record's
 * `metadata.topic_id`); `startRun` moves the last two into the store.
 */
const TopicSourceSchema = z.union([
  ...RunTopicsSchema.options,
  z.object({ kind: z.literal('file'), file: z.string().min(1), count: z.number().int().positive() }),
  z
    .object({ kind: z.literal('nodes'), paths: z.array(z.array(z.string()).min(1)).min(1), ids: z.array(z.string().min(1)) })
    .refine((t) => t.ids.length === t.paths.length, 'ids: one per path'),
]);

/**
 * The most examples one run may ask for. This project is built for thousands to hundreds of
 * thousands of examples; a million leaves ten times that headroom. Beyond it a value is almost
 * always a typo (`1e12` would start a run with an ETA of centuries and a plan no history could
 * hold); a larger dataset is several runs.
 */
export const MAX_EXAMPLES_PER_RUN = 1_000_000;
export const tooManyExamples = (field: string, value: number) =>
  `${field}: at most ${MAX_EXAMPLES_PER_RUN.toLocaleString('en-US')} examples per run, got ${value}; split a larger dataset into several runs`;

/** Batch mode's settings (see `RunInput.batchApi`). */
export const BatchApiSettingsSchema = z.object({
  /** Lines (model calls) in one provider batch. */
  maxRequests: z.number().int().min(1).max(100_000),
  /** Provider batches of the run in flight at once. */
  maxInFlight: z.number().int().min(1).max(1000),
  /** Seconds between polls of a provider batch. */
  pollSeconds: z.number().min(1).max(3600),
  /** Provider batches a call may go through (the first and the resubmissions of errored or expired lines); the rest is called live. */
  attempts: z.number().int().min(1).max(10),
  /** Seconds after a chunk's first submission when what is still unanswered is cancelled there and called live (absent: no deadline). */
  deadlineSeconds: z.number().positive().optional(),
});
export type BatchApiSettings = z.infer<typeof BatchApiSettingsSchema>;

/** Input of the dataset-run workflow. Everything here is visible in the Temporal UI. */
export const RunInputSchema = z.object({
  runId: z.string().min(1),
  name: z.string().min(1),
  /** The run folder as the client sees it (display only: workers find a run by id in their own store). */
  runDir: z.string().min(1),
  /**
   * Id of the client's store (see src/storage/store.ts). A worker whose store has another id refuses
   * the run at once instead of splitting its shards across disks. Set by `startRun` (a `RunPlan` has none).
   */
  storeId: z.string().min(1),
  numSteps: z.number().int().positive().max(MAX_EXAMPLES_PER_RUN),
  /** Examples asked for in one model call (the seed's `batchSize`, DeepFabric's `samples_per_call`). */
  examplesPerCall: z.number().int().positive().max(1000),
  /**
   * Model calls one batch runs at once. A batch asks for `examplesPerCall x callsPerBatch` examples;
   * `concurrency` still bounds the calls in flight.
   */
  callsPerBatch: z.number().int().min(1).max(64),
  /**
   * Batches one `generateSlice` activity works through with `callsPerBatch` call slots, refilling a
   * slot as soon as a call ends.
   */
  batchesPerSlice: z.number().int().min(1).max(64),
  concurrency: z.number().int().positive().max(10000),
  /** Dollars per million tokens of the run's model, when known: the stats' estimated cost. */
  price: z.object({ inputPerMTokUsd: z.number().min(0), outputPerMTokUsd: z.number().min(0), source: z.string() }).optional(),
  /** The provider's request limit, shared by every worker of the store (see src/llm/pacing.ts). Not part of the run's identity. */
  pacing: z.object({ requestsPerMinute: z.number().positive().max(1_000_000), burst: z.number().int().min(1).max(10_000).optional() }).optional(),
  /** Duplicate examples dropped as batches arrive (exact by normalised text; near by MinHash similarity). Not part of the run's identity. */
  dedup: z.object({ exact: z.boolean(), near: z.number().min(0.5).max(1).optional() }).optional(),
  /** The run stops starting batches before its estimated cost would pass this (needs `price`). */
  budgetUsd: z.number().positive().optional(),
  /**
   * Batch mode (`call_mode: batch`): the model calls go to the provider's batch API (half price,
   * answers within 24 hours) in chunks of at most `maxRequests` lines, `maxInFlight` provider batches
   * at once. Not part of the run's identity (the dataset is the same).
   */
  batchApi: BatchApiSettingsSchema.optional(),
  topics: RunTopicsSchema,
  sampling: z.object({
    strategy: SamplingStrategySchema,
    seed: z.number().int(),
    /** Precomputed example index -> path index list (custom samplers run on the client). */
    order: z.array(z.number().int().min(0)).optional(),
  }),
  generation: GenerationSettingsSchema,
  retry: RetryStrategySchema,
  /** Extra batches allowed beyond the plan to make up for rejected or missing examples. */
  maxExtraBatches: z.number().int().min(0),
  /** Seconds without a heartbeat after which a batch on a dead worker is retried elsewhere. */
  heartbeatTimeoutSeconds: z.number().positive(),
  /** Continue-as-new after this many batches in one workflow run (keeps histories small). */
  batchesPerRun: z.number().int().positive(),
  /** True when the namespace has the Dataset* search attributes (progress in the UI's list). */
  searchAttributes: z.boolean().default(false),
});
export type RunInput = z.infer<typeof RunInputSchema>;

/** A run as the client plans it, before it knows its store (`startRun` adds `storeId`). */
export const RunPlanSchema = RunInputSchema.omit({ storeId: true, topics: true }).extend({ topics: TopicSourceSchema });
export type RunPlan = z.infer<typeof RunPlanSchema>;
