/**
 * Starting a dataset run: the run's layout fixed at its first start, big topic sets moved into the
 * store, then either attaching to the run of the same dataset (see `DataSetGenerator.startData`) or
 * starting the workflow, after refusing (or, with `replace`, stopping) other runs of the same name.
 */
import { WorkflowIdConflictPolicy, WorkflowNotFoundError } from '@temporalio/client';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { RunInput, RunPlan } from '../config/run-input';
import { ConfigurationError } from '../errors';
import type { Store, StoredTopics } from '../storage/store';
import { packageVersion } from '../config/release';
import { readTopicsFile } from '../topics/topic-paths-file';
import type { datasetRunWorkflow } from '../workflows/dataset-run';
import { DatasetAccepted, DatasetModel, DatasetName, DatasetTarget } from '../workflows/search-attributes';
import { extraBatches } from './run-builder';
import { RunHandle } from './run-handle';
import { GIVEN_CLIENT, type TemporalContext } from './temporal-context';

/** Above this many topic paths, a run's topics go to the run's store instead of its history. */
const INLINE_TOPICS_LIMIT = 1000;

interface StartRunOptions {
  maxExtraBatchFraction: number;
  /** The generator has function filters: they run only in an in-process worker. */
  functionFilters: boolean;
  /** Whether the namespace has the Dataset* search attributes (asked of the server when not given). */
  searchAttributes?: boolean;
  replace: boolean;
}

/** Starts the run `plan` describes, or attaches to the run of the same dataset; returns its handle. */
export async function startRun(context: () => Promise<TemporalContext>, store: Store, plan: RunPlan, opts: StartRunOptions): Promise<RunHandle> {
  const { topics, ...rest } = plan;
  // Big topic sets and topic files travel by reference, in the run's store (never a client path a
  // worker on another machine cannot read, never the workflow's history).
  let storedTopics: StoredTopics | undefined;
  if (topics.kind === 'file') {
    storedTopics = await readTopicsFile(topics.file).catch((err: Error) => {
      throw new ConfigurationError(`topicsFile: ${err.message}`);
    });
  } else if (topics.kind === 'nodes') storedTopics = { paths: topics.paths, ids: topics.ids };
  // Batch mode always: a chunk's inputs (submission, collection, its slice) then carry batch numbers, not topic paths.
  else if (topics.kind === 'inline' && (topics.paths.length > INLINE_TOPICS_LIMIT || plan.batchApi)) storedTopics = { paths: topics.paths };
  if (storedTopics) await store.run(plan.runId).writeTopics(storedTopics);
  // Inline topics travel in the input; the store keeps a copy for the report's topic coverage (paths never used).
  else if (topics.kind === 'inline') await store.run(plan.runId).writeTopics({ paths: topics.paths });
  const input: RunInput = {
    ...rest,
    storeId: await store.id(),
    topics: storedTopics ? { kind: 'stored', count: storedTopics.paths.length } : (topics as RunInput['topics']),
  };
  // The run's layout is fixed by its first start (batch k always covers the same examples).
  const layout = await store.run(input.runId).layout({ examplesPerCall: input.examplesPerCall, callsPerBatch: input.callsPerBatch });
  if (layout.callsPerBatch !== input.callsPerBatch) {
    input.callsPerBatch = layout.callsPerBatch;
    input.maxExtraBatches = extraBatches(input.numSteps, input.examplesPerCall, layout.callsPerBatch, opts.maxExtraBatchFraction);
  }
  const ctx = await context();
  if (opts.functionFilters && !ctx.hasLocalWorker) {
    throw new ConfigurationError(
      'addContentFilter: function filters run only in an in-process worker (embedded mode); with a cluster, register them by name in your workers or use declarative filters',
    );
  }
  input.searchAttributes = opts.searchAttributes ?? (await ctx.hasDatasetSearchAttributes());
  await fs.mkdir(input.runDir, { recursive: true });
  const attached = await attachToSameDataset(ctx, store, input);
  if (attached) return attached;
  await refuseTwin(ctx, input, opts.replace);
  await settleNameConflicts(ctx, input, opts.replace);
  // Typed by the workflow's signature (a type-only import): the input and result are checked, no workflow code is loaded.
  await ctx.client.workflow.start<typeof datasetRunWorkflow>('datasetRunWorkflow', {
    ...(input.searchAttributes
      ? {
          typedSearchAttributes: [
            { key: DatasetName, value: input.name },
            { key: DatasetModel, value: `${input.generation.model.provider}/${input.generation.model.model}` },
            { key: DatasetTarget, value: input.numSteps },
            { key: DatasetAccepted, value: 0 },
          ],
        }
      : {}),
    taskQueue: ctx.taskQueueFor(input.runId),
    workflowId: input.runId,
    args: [input],
    workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
    memo: {
      // The release whose workflow code runs it (docs/RELEASES.md): `runs list` flags runs of another release.
      release: packageVersion(),
      name: input.name,
      model: `${input.generation.model.provider}/${input.generation.model.model}`,
      target: input.numSteps,
      progress: { accepted: 0, target: input.numSteps, batchesDone: 0, status: 'running' },
      // Batch mode: `stop` and `cancel` say what happens to the provider batches; the UI shows the mode.
      ...(input.batchApi ? { callMode: 'batch' } : {}),
    },
    staticSummary: `${input.name}: ${input.numSteps} ${input.generation.outputSchema ? 'custom (output_schema)' : input.generation.conversationType} examples from ${input.generation.model.provider}/${input.generation.model.model}${input.batchApi ? " through the provider's batch API" : ''}`,
  });
  await fs.writeFile(path.join(input.runDir, WHERE_FILE), JSON.stringify(temporalOf(ctx)) + '\n');
  const run = new RunHandle(ctx.client, input.runId, input.runDir, store);
  run.origin = 'started';
  await serveRun(ctx, run);
  return run;
}

/** Where a run was started, kept in its run folder: a command talking to another Temporal must not start its twin. */
export const WHERE_FILE = 'temporal.json';
type Where = { mode: string; address: string; namespace: string };
/** The Temporal a context talks to, as a run's `temporal.json` records it (an embedded server is the folder's own, whatever its port). */
function temporalOf(ctx: TemporalContext): Where {
  return { mode: ctx.mode, address: ctx.mode === 'embedded' ? 'this data folder' : ctx.address, namespace: ctx.namespace };
}
const describeWhere = (w: Where) =>
  w.mode === 'embedded' ? `the data folder's embedded server (namespace ${w.namespace})` : `the cluster at ${w.address} (namespace ${w.namespace})`;

/**
 * Refuses to start a run that this folder started on another Temporal (a shell without
 * TEMPORAL_ADDRESS rerunning a cluster config would otherwise start a twin on the embedded server and
 * pay for the whole dataset again). `replace` starts it here anyway.
 */
export async function refuseTwin(ctx: TemporalContext, input: RunInput, replace: boolean): Promise<void> {
  const text = await fs.readFile(path.join(input.runDir, WHERE_FILE), 'utf8').catch(() => undefined);
  if (!text || replace) return;
  let was: Where;
  try {
    was = JSON.parse(text) as Where;
  } catch {
    return;
  }
  const here = temporalOf(ctx);
  // A client handed in by code names no address: nothing to compare.
  if ([was.address, here.address].includes(GIVEN_CLIENT)) return;
  if (was.mode === here.mode && was.address === here.address && was.namespace === here.namespace) return;
  throw new ConfigurationError(
    `run ${input.runId} of this dataset was started on ${describeWhere(was)}, and this command talks to ${describeWhere(here)}, which does not know it. ` +
      (was.mode === 'embedded'
        ? 'Unset TEMPORAL_ADDRESS (and TEMPORAL_PROFILE) to attach to it'
        : `Set TEMPORAL_ADDRESS=${was.address}${was.namespace !== 'default' ? ` TEMPORAL_NAMESPACE=${was.namespace}` : ''} (and the same DEEPFABRIC_STORE as then) to attach to it`) +
      `; or start it again here with --replace (replace: true), which pays for its examples again`,
  );
}

/** The existing run of this dataset when it can be attached to (see `startRun`); undefined to start one. */
async function attachToSameDataset(ctx: TemporalContext, store: Store, input: RunInput): Promise<RunHandle | undefined> {
  const run = new RunHandle(ctx.client, input.runId, input.runDir, store);
  let described;
  try {
    described = await run.handle.describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  }
  const memo = (described.memo ?? {}) as { target?: number; progress?: { target?: number } };
  const target = memo.progress?.target ?? memo.target;
  if (described.status.name === 'RUNNING') {
    if (target !== undefined && target !== input.numSteps) {
      throw new ConfigurationError(
        `numSteps: run ${input.runId} of this dataset is still running with a target of ${target} examples, not ${input.numSteps}; ` +
          `let it finish (or stop it: deepfabric stop ${input.runId}) and start again to ${input.numSteps > target ? 'extend it (finished batches are reused)' : 'take the first ' + input.numSteps}`,
      );
    }
    // This command resumes the run: its worker serves it (and only it).
    await ctx.serve(described.taskQueue);
    await run.updateSettings(
      {
        concurrency: input.concurrency,
        retry: input.retry,
        requestTimeoutSeconds: input.generation.requestTimeoutSeconds,
        ...(input.budgetUsd !== undefined ? { budgetUsd: input.budgetUsd } : {}),
      },
      { hasPrice: input.price !== undefined },
    );
    run.origin = 'resumed';
    return run;
  }
  if (described.status.name === 'COMPLETED' && target === input.numSteps) {
    const result = await run.result().catch(() => undefined);
    if (result?.status === 'completed') {
      run.origin = 'finished';
      return run;
    }
  }
  return undefined;
}

/** This process's worker polls the run's task queue (embedded mode: the command that started or resumed it serves it). */
export async function serveRun(ctx: TemporalContext, run: RunHandle): Promise<void> {
  if (!ctx.hasLocalWorker) return;
  const described = await run.handle.describe();
  if (described.status.name === 'RUNNING') await ctx.serve(described.taskQueue);
}

/** Refuses (or, with `replace`, stops) other running runs of the same name with different dataset settings. */
async function settleNameConflicts(ctx: TemporalContext, input: RunInput, replace: boolean): Promise<void> {
  const prefix = input.runId.slice(0, input.runId.lastIndexOf('-') + 1);
  if (!prefix) return;
  const others: string[] = [];
  const query = `WorkflowType = 'datasetRunWorkflow' AND ExecutionStatus = 'Running' AND WorkflowId STARTS_WITH '${prefix.replace(/'/g, '')}'`;
  try {
    for await (const wf of ctx.client.workflow.list({ query })) {
      if (wf.workflowId !== input.runId && (wf.memo as { name?: string } | undefined)?.name === input.name) others.push(wf.workflowId);
    }
  } catch {
    return; // a visibility store without STARTS_WITH: no check rather than no run
  }
  if (!others.length) return;
  if (!replace) {
    throw new ConfigurationError(
      `runName: run${others.length > 1 ? 's' : ''} ${others.join(', ')} of "${input.name}" ${others.length > 1 ? 'are' : 'is'} still running with other dataset settings (both would spend). ` +
        `Replace it (generate --replace, or replace: true: it stops and keeps its partial data), attach to it (--run-id ${others[0]}), or give this dataset another name`,
    );
  }
  for (const id of others) await new RunHandle(ctx.client, id, undefined).stop();
}
