import { z } from 'zod';
import { ModelSpecSchema } from './model-spec';
import { RetryStrategySchema } from './run-input';

/** Input of a topic tree or graph build. Visible in the Temporal UI: no secrets. */
export const TopicBuildInputSchema = z.object({
  buildId: z.string().min(1),
  /** Folder (seen by workers) holding one checkpoint file per expanded node and the result. */
  buildDir: z.string().min(1),
  mode: z.enum(['tree', 'graph']),
  rootPrompt: z.string().min(1),
  depth: z.number().int().min(1).max(10),
  degree: z.number().int().min(1).max(50),
  /** Expansion calls in flight at once, over the whole build (DeepFabric bounds only siblings). */
  concurrency: z.number().int().min(1).max(1000),
  model: ModelSpecSchema,
  systemPrompt: z.string(),
  temperature: z.number().min(0).max(2),
  maxTokens: z.number().int().positive(),
  requestTimeoutSeconds: z.number().positive(),
  retry: RetryStrategySchema,
  heartbeatTimeoutSeconds: z.number().positive(),
  /** Graph only: existing nodes shown to the model for cross-links, the most relevant first. */
  maxContextNodes: z.number().int().min(0).max(200),
  /**
   * Expansions per workflow run: the build continues as new after this many, so its history stays
   * far below Temporal's limits however big the build.
   */
  expansionsPerRun: z.number().int().min(1),
  /** Set by continue-as-new: the segment number and the chunks of the build's state in the store. */
  resume: z.object({ segment: z.number().int().min(1), chunks: z.number().int().min(1) }).optional(),
});
export type TopicBuildInput = z.infer<typeof TopicBuildInputSchema>;
