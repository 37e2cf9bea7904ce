import { z } from 'zod';
import { ToolsSettingsSchema } from '../tools/tools';
import { QualityOptionsSchema } from './quality';
import { ConversationTypeSchema, DeclarativeFiltersSchema, ErrorCategorySchema, MAX_EXAMPLES_PER_RUN } from './run-input';

/** Batches per slice when the config does not say (README, Configuration and Benchmark; bench/results/slices-*.json). */
export const DEFAULT_BATCHES_PER_SLICE = 4;

/**
 * Options of `new DataSetGenerator(...)`: the seed's parameters in camelCase, plus what a durable
 * run needs (concurrency, data folder, Temporal connection). Unknown keys are refused by name.
 */
export const GeneratorOptionsSchema = z
  .object({
    instructions: z.string().default(''),
    generationSystemPrompt: z.string().default('You are a helpful assistant that writes high-quality training data.'),
    /** `provider/model`, e.g. `openai/gpt-4o-mini`. `model` is the seed's alias. */
    modelName: z.string().min(1).optional(),
    model: z.string().min(1).optional(),
    provider: z.string().min(1).optional(),
    baseUrl: z.string().url().optional(),
    temperature: z.number().min(0).max(2).default(0.7),
    maxRetries: z.number().int().min(0).max(100).default(3),
    /** Seconds to wait for one model answer. */
    requestTimeout: z.number().positive().default(60),
    /** Examples per model call when `createData` gets no `batchSize`. */
    defaultBatchSize: z.number().int().min(1).max(1000).default(5),
    /** Examples when `createData` gets no `numSteps`. */
    defaultNumExamples: z.number().int().min(1).max(MAX_EXAMPLES_PER_RUN).default(3),
    maxTokens: z.number().int().positive().default(4096),
    /** The system message written into each record when `sysMsg` is on (default: `generationSystemPrompt`). */
    datasetSystemPrompt: z.string().optional(),
    conversationType: ConversationTypeSchema.default('basic'),
    /** The tools `agent` examples call, executed by the workers (DeepFabric 4.x's generation.tools; see src/tools/tools.ts). */
    tools: ToolsSettingsSchema.optional(),
    /** Custom records (DeepFabric 4.13's generation.output_schema): each record one object of this JSON schema; see src/dataset/custom-records.ts. */
    outputSchema: z.record(z.string(), z.unknown()).optional(),
    /** Batches in flight at once. */
    concurrency: z.number().int().min(1).max(10000).default(8),
    /** Model calls one batch runs at once (default: a quarter of `concurrency`, 1 to 8). */
    callsPerBatch: z.number().int().min(1).max(64).optional(),
    /**
     * Batches one slice activity works through (its calls share `callsPerBatch` slots, and a slot
     * freed by a finished call goes to the next call at once). Fewer Temporal operations per call
     * and no idle slots between batches; 1 = one activity per batch.
     */
    batchesPerSlice: z.number().int().min(1).max(64).default(DEFAULT_BATCHES_PER_SLICE),
    /** Dollars per million tokens of the model, when the built-in table (src/llm/prices.ts) lacks it or is out of date. */
    price: z
      .object({ inputPerMTokUsd: z.number().min(0), outputPerMTokUsd: z.number().min(0) })
      .strict()
      .optional(),
    /** Duplicate examples: exact duplicates (normalised text) dropped by default; `near` (0.5-1) also drops examples that similar. The run tops up what is dropped. */
    dedup: z
      .object({ exact: z.boolean().default(true), near: z.number().min(0.5).max(1).optional() })
      .strict()
      .default({ exact: true }),
    /** The provider's request limit: calls are paced to it across every worker of the store (burst: calls allowed back to back). */
    rateLimit: z
      .object({ requestsPerMinute: z.number().positive().max(1_000_000), burst: z.number().int().min(1).max(10_000).optional() })
      .strict()
      .optional(),
    /** Stop the run gracefully before its estimated cost passes this many dollars (needs a known price). */
    budgetUsd: z.number().positive().optional(),
    /** How model calls are made: `live`, or `batch`: the provider's batch API (OpenAI, Anthropic), half price, answers within 24 hours. */
    callMode: z.enum(['live', 'batch']).default('live'),
    /** Batch mode's settings; each has a default. */
    batchApi: z
      .object({
        maxRequests: z.number().int().min(1).max(100_000).optional(),
        maxInFlight: z.number().int().min(1).max(1000).default(10),
        pollSeconds: z.number().min(1).max(3600).default(60),
        attempts: z.number().int().min(1).max(10).default(2),
        deadlineHours: z.number().positive().max(24).optional(),
      })
      .strict()
      .default({ maxInFlight: 10, pollSeconds: 60, attempts: 2 }),
    backoffMultiplier: z.number().min(1).max(10).default(2),
    initialBackoffSeconds: z.number().positive().default(1),
    maxBackoffSeconds: z.number().positive().default(60),
    retryOnErrors: z.array(ErrorCategorySchema).default(['rate_limit', 'timeout', 'server_error', 'json_parse_error', 'validation_error']),
    /** Extra batches allowed to make up for rejected examples, as a fraction of the planned batches. */
    maxExtraBatchFraction: z.number().min(0).max(10).default(0.5),
    filters: DeclarativeFiltersSchema.default({}),
    /** Quality gates: validators and a judge model each example passes before it is kept (README, "Quality gates"). */
    quality: QualityOptionsSchema.optional(),
    /** Example records shown to the model as `{examples}` / style guide. */
    examples: z.array(z.string()).default([]),
    templateVars: z.record(z.string(), z.string()).default({}),
    /** Where runs are stored (shards, dataset, manifest). */
    dataDir: z.string().optional(),
    /** Seconds without a heartbeat before a batch on a dead worker is retried. */
    heartbeatTimeout: z.number().positive().default(10),
    /**
     * Batches per workflow run before continue-as-new (default: `defaultBatchesPerRun`, 500 or more
     * with many calls in flight: each continue-as-new waits for the batches in flight to end).
     */
    batchesPerRun: z.number().int().positive().optional(),
    seed: z.number().int().default(42),
    /** PostgreSQL run store URL (default DEEPFABRIC_STORE); the data folder when unset. Client-side only: never in a run's input. */
    store: z.string().min(1).optional(),
  })
  .strict();

export type GeneratorOptionsInput = z.input<typeof GeneratorOptionsSchema>;
export type GeneratorOptions = z.output<typeof GeneratorOptionsSchema>;

/** Turns zod issues into "field: problem" lines, naming the closest known key for unknown ones. */
export function formatIssues(error: z.ZodError, knownKeys: readonly string[] = [], prefix = ''): string[] {
  return error.issues.flatMap((issue) => {
    const where = [prefix, ...issue.path.map(String)].filter(Boolean).join('.') || '(root)';
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((k) => {
        const near = closest(k, knownKeys);
        return `${[where === '(root)' ? '' : where, k].filter(Boolean).join('.')}: unknown option${near ? `; did you mean "${near}"?` : ''}`;
      });
    }
    return [`${where}: ${issue.message}`];
  });
}

/** The known key closest to `word` by edit distance, if it is close enough to be a likely typo. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length]!;
}
