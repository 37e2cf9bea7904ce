/**
 * The arguments of `createData` / `startData` (the seed's `create_data_async`, camelCase) as one
 * zod schema: the type is derived from it, and `buildRunPlan` parses what a caller passed, so a
 * wrong type or a misspelt key is refused naming the key instead of being ignored.
 */
import { z } from 'zod';
import { MAX_EXAMPLES_PER_RUN, SamplingStrategySchema, tooManyExamples } from './run-input';

/** Anything with `getAllPaths()`: a Tree or a Graph (a Graph also lists its nodes as topics: `uniqueTopics()`). */
type TopicModelLike = { getAllPaths(): string[][]; uniqueTopics?: () => { path: string[]; id: string }[] };

const positiveInteger = { error: (iss: { input?: unknown }) => `must be a positive integer, got ${String(iss.input)}` };

export const CreateDataArgsSchema = z
  .object({
    numSteps: z
      .number(positiveInteger)
      .int(positiveInteger)
      .min(1, positiveInteger)
      .max(MAX_EXAMPLES_PER_RUN, { error: (iss) => tooManyExamples('numSteps', Number(iss.input)).replace(/^numSteps: /, '') })
      .optional(),
    /** Examples asked for in one model call (the seed's meaning). */
    batchSize: z.number(positiveInteger).int(positiveInteger).min(1, positiveInteger).max(1000).optional(),
    /** Topic paths (each from the root down), when no topic model is given. */
    topics: z.array(z.array(z.string())).optional(),
    /** A Tree or Graph (anything with `getAllPaths()`). */
    topicModel: z
      .custom<TopicModelLike>((v) => typeof (v as Partial<TopicModelLike> | null)?.getAllPaths === 'function', 'must have getAllPaths() (a Tree or a Graph)')
      .optional(),
    /**
     * What a Graph's examples are about (DeepFabric 4.x: `nodes`, every node but the root once, each
     * record's topic id the node's uuid), or `paths` (each root-to-leaf path). A Tree has only paths.
     */
    graphSampling: z.enum(['nodes', 'paths']).optional(),
    modelName: z.string().min(1).optional(),
    sysMsg: z.boolean().optional(),
    samplingStrategy: SamplingStrategySchema.exclude(['custom']).optional(),
    /** Runs on the client before the run starts; its result (paths) is stored with the run. */
    topicSampler: z
      .custom<(topicModel: TopicModelLike | string[][], count: number) => string[][]>(
        (v) => typeof v === 'function',
        'must be a function (topicModel, count) => paths',
      )
      .optional(),
    /** Human name of the run; the run id is derived from it and the settings. */
    runName: z.string().min(1).optional(),
    /** Explicit run id (workflow id); starting the same id again attaches to the existing run. */
    runId: z.string().optional(),
    concurrency: z.number().int().min(1).max(10000).optional(),
    seed: z.number().int().optional(),
    /** Topic paths stored in a JSONL file readable by the workers (for big topic sets). */
    topicsFile: z.string().min(1).optional(),
    /** Model calls one batch runs at once (in its slice's call slots) (default: see `defaultCallsPerBatch`). */
    callsPerBatch: z.number().int().min(1).max(64).optional(),
    /**
     * When another run of the same name but different dataset settings is still running: stop it
     * (its partial data is kept) and start this one. Without it, starting refuses and names that run.
     */
    replace: z.boolean().optional(),
  })
  .strict();

export type CreateDataArgs = z.infer<typeof CreateDataArgsSchema>;

/** Each problem of `args` as "field: what is wrong" (a misspelt key named with the keys there are). */
export function createDataArgsProblems(args: unknown): string[] {
  const parsed = CreateDataArgsSchema.safeParse(args ?? {});
  if (parsed.success) return [];
  return parsed.error.issues.map((i) => {
    if (i.code === 'unrecognized_keys')
      return `${i.keys.join(', ')}: not an argument of createData (known: ${Object.keys(CreateDataArgsSchema.shape).join(', ')})`;
    return `${i.path.join('.') || 'args'}: ${i.message}`;
  });
}
