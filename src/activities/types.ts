import type { GenerationSettings, RunInput } from '../config/run-input';

/** Input of one batch: small, so history stays small. Topics come inline or as slots of a file. */
export interface BatchInput {
  runId: string;
  /** The client's run folder: used only by runs without `storeId` (started before stores existed). */
  runDir: string;
  /** The client's store id; the worker's store must have the same (see src/storage/store.ts). */
  storeId?: string;
  batchIndex: number;
  /** First example slot of this batch and how many examples it asks for. */
  slotStart: number;
  count: number;
  /** The batch's topic paths, when the run's topics are inline. */
  topicPaths?: string[][];
  /** Where to read topic paths when they are not inline (large topic sets): the run's store, or a file (older runs). */
  topicsRef?: { file: string; stored?: boolean; sampling: RunInput['sampling']; count: number };
  generation: GenerationSettings;
  /**
   * True while no batch of the run has succeeded. A refused connection or unknown host then stops
   * the run at once (`unreachable`) instead of retrying every batch against nothing; later on it is
   * an ordinary, retried server error (an endpoint that answered before is probably restarting).
   */
  firstWave?: boolean;
  /** Examples asked for in one model call; the batch runs `ceil(count / examplesPerCall)` calls at once (absent: one call). */
  examplesPerCall?: number;
  /** Pace calls at the provider's limit (absent: no pacing). */
  pacing?: { requestsPerMinute: number; burst?: number | undefined };
  /** Drop duplicates of examples the run already holds (absent in runs started before dedup: off). */
  dedup?: { exact: boolean; near?: number | undefined };
}

/** What a batch reports back to the workflow: counts only, never the examples. */
export interface BatchSummary {
  batchIndex: number;
  requested: number;
  accepted: number;
  /** Examples dropped, by reason (schema errors, content filters). */
  rejected: Record<string, number>;
  /** Failed attempts of this batch, by error category. */
  errors: Record<string, number>;
  /** Attempts this batch took (1 = no retry). */
  attempts: number;
  /** Model calls paid for, all attempts (absent in older summaries: one per attempt). */
  calls?: number;
  inputTokens: number;
  outputTokens: number;
  latencyMs: number;
  /** Worker clock when the batch finished (ms since epoch); data, so replay stays deterministic. */
  finishedAtMs: number;
  /** True when the shard already existed and nothing was generated. */
  cached: boolean;
  /** The batch's first accepted example, cut to 300 characters: the run's memo shows the latest one in the UI. */
  sample?: string;
}

export interface AssembleInput {
  runId: string;
  runDir: string;
  storeId?: string;
  numSteps: number;
  /** Stats and run facts written into manifest.json. */
  manifest: Record<string, unknown>;
}

export interface AssembleResult {
  datasetPath: string;
  manifestPath: string;
  records: number;
  partial: boolean;
}
