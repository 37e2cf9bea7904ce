import { WorkflowIdConflictPolicy } from '@temporalio/client';
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { formatIssues } from '../config/generator-options';
import { parseModelName } from '../config/model-spec';
import { ErrorCategorySchema } from '../config/run-input';
import { TopicBuildInputSchema, type TopicBuildInput } from '../config/topic-build-input';
import { ConfigurationError } from '../errors';
import { writeFileAtomic } from '../files';
import { openStore } from '../storage/open-store';
import type { Store } from '../storage/store';
import { Graph } from '../topics/graph';
import { Tree } from '../topics/tree';
import type { TopicBuildResult, topicTreeWorkflow } from '../workflows/topic-build';
import { topicBuildProgressQuery } from '../workflows/topic-build';
import { defaultDataDir, slug } from './run-builder';
import { toRunError } from './run-handle';
import { TemporalContext, type TemporalOptions } from './temporal-context';
import { connectionSettings } from '../config/connection';

/** Options of a topic tree or graph build (DeepFabric's `Tree(...)` / `Graph(...)` parameters). */
const BuildTopicsOptionsSchema = z
  .object({
    rootPrompt: z.string().min(1),
    mode: z.enum(['tree', 'graph']).default('tree'),
    depth: z.number().int().min(1).max(10).default(2),
    degree: z.number().int().min(1).max(50).default(3),
    modelName: z.string().min(1),
    provider: z.string().optional(),
    baseUrl: z.string().url().optional(),
    temperature: z.number().min(0).max(2).default(0.7),
    /** Expansion calls in flight over the whole build. */
    concurrency: z.number().int().min(1).max(1000).default(8),
    maxRetries: z.number().int().min(0).max(100).default(3),
    requestTimeout: z.number().positive().default(60),
    initialBackoffSeconds: z.number().positive().default(1),
    maxBackoffSeconds: z.number().positive().default(60),
    retryOnErrors: z.array(ErrorCategorySchema).default(['rate_limit', 'timeout', 'server_error', 'json_parse_error', 'validation_error']),
    systemPrompt: z.string().default('You are an expert at organising a subject into clear, specific subtopics.'),
    maxTokens: z.number().int().positive().default(2048),
    maxContextNodes: z.number().int().min(0).max(200).default(20),
    /** Expansions per workflow run before the build continues as new (keeps each history small). Not part of the build's identity. */
    expansionsPerRun: z.number().int().min(1).max(100_000).default(1000),
    heartbeatTimeout: z.number().positive().default(10),
    buildId: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,200}$/)
      .optional(),
    dataDir: z.string().optional(),
    /** Copy of the result: tree JSONL or graph JSON. */
    saveAs: z.string().optional(),
  })
  .strict();
export type BuildTopicsOptions = z.input<typeof BuildTopicsOptionsSchema> & { temporal?: TemporalOptions };

/** Validates options into the workflow input. */
export function buildTopicInput(options: Omit<BuildTopicsOptions, 'temporal'>): TopicBuildInput {
  const parsed = BuildTopicsOptionsSchema.safeParse(options);
  if (!parsed.success) {
    const issues = formatIssues(parsed.error, Object.keys(BuildTopicsOptionsSchema.shape));
    throw new ConfigurationError(`invalid topic build: ${issues.join('; ')}`, issues);
  }
  const o = parsed.data;
  const model = parseModelName(o.modelName, o.provider, o.baseUrl);
  if (!model.ok) throw new ConfigurationError(`modelName: ${model.error}`);
  const base = {
    mode: o.mode,
    rootPrompt: o.rootPrompt,
    depth: o.depth,
    degree: o.degree,
    concurrency: o.concurrency,
    model: model.spec,
    systemPrompt: o.systemPrompt,
    temperature: o.temperature,
    maxTokens: o.maxTokens,
    requestTimeoutSeconds: o.requestTimeout,
    retry: {
      maxRetries: o.maxRetries,
      backoffMultiplier: 2,
      initialBackoffSeconds: o.initialBackoffSeconds,
      maxBackoffSeconds: o.maxBackoffSeconds,
      retryOnErrors: o.retryOnErrors,
    },
    heartbeatTimeoutSeconds: o.heartbeatTimeout,
    maxContextNodes: o.maxContextNodes,
  };
  const buildId = o.buildId ?? `topics-${slug(o.rootPrompt).slice(0, 30)}-${createHash('sha256').update(JSON.stringify(base)).digest('hex').slice(0, 8)}`;
  const dataDir = path.resolve(o.dataDir ?? defaultDataDir());
  return TopicBuildInputSchema.parse({ ...base, buildId, buildDir: path.join(dataDir, 'topics', buildId), expansionsPerRun: o.expansionsPerRun });
}

/**
 * Builds a topic tree or graph as a durable Temporal workflow (one activity per node expansion)
 * and returns it. Building the same topics again attaches to the existing build, and expanded
 * nodes are never paid for twice.
 */
export async function buildTopics(options: BuildTopicsOptions & { mode: 'graph' }): Promise<{ model: Graph; result: TopicBuildResult }>;
export async function buildTopics(options: BuildTopicsOptions): Promise<{ model: Tree | Graph; result: TopicBuildResult }>;
export async function buildTopics(options: BuildTopicsOptions): Promise<{ model: Tree | Graph; result: TopicBuildResult }> {
  const { temporal, ...rest } = options;
  const input = buildTopicInput(rest);
  const dataDir = path.dirname(path.dirname(input.buildDir));
  const store = await openStore({ dataDir, url: connectionSettings().storeUrl });
  try {
    const ctx = await TemporalContext.open(temporal ?? {}, dataDir, store);
    try {
      return await runTopicBuild(ctx, input, store, rest.saveAs);
    } finally {
      await ctx.close();
    }
  } finally {
    await store.close();
  }
}

/** Runs a validated build on an open Temporal context (shared with a generator's runs). */
export async function runTopicBuild(
  ctx: TemporalContext,
  input: TopicBuildInput,
  store: Store,
  saveAs?: string,
): Promise<{ model: Tree | Graph; result: TopicBuildResult }> {
  await fs.mkdir(input.buildDir, { recursive: true });
  const handle = await ctx.client.workflow.start<typeof topicTreeWorkflow>(input.mode === 'graph' ? 'topicGraphWorkflow' : 'topicTreeWorkflow', {
    taskQueue: ctx.taskQueueFor(input.buildId),
    workflowId: input.buildId,
    args: [input],
    workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
    staticSummary: `${input.mode} of "${input.rootPrompt}", depth ${input.depth}, degree ${input.degree}, ${input.model.provider}/${input.model.model}`,
  });
  // An earlier build of the same topics may run on its own queue: this process serves the one it has.
  const described = await handle.describe();
  if (described.status.name === 'RUNNING') await ctx.serve(described.taskQueue);
  let result: TopicBuildResult;
  try {
    result = await handle.result();
  } catch (err) {
    throw toRunError(err, input.buildId);
  }
  // The workers wrote the result into their store; this client reads it from its own (the same
  // folder, or PostgreSQL) into its build folder.
  const name = path.basename(result.file);
  const text = await store.topicBuild(input.buildId).readFile(name);
  if (text === undefined) {
    throw new ConfigurationError(
      `topic build ${input.buildId} finished, but its ${name} is not in this client's store (${store.description}): workers and client need one store (the same DEEPFABRIC_DATA_DIR, or DEEPFABRIC_STORE=postgres://...)`,
    );
  }
  const local = path.join(input.buildDir, name);
  if ((await fs.readFile(local, 'utf8').catch(() => undefined)) !== text) await writeFileAtomic(local, text);
  const model = result.mode === 'graph' ? await Graph.load(local) : await Tree.load(local);
  if (saveAs) await model.save(path.resolve(saveAs));
  return { model, result };
}

export { topicBuildProgressQuery };
