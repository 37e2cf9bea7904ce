/**
 * Topic trees and graphs built by an LLM: one activity per node expansion, one global bound on
 * expansions in flight (a queue, not per-sibling limits, so concurrency never compounds with
 * depth), retries from the engine, failures recorded instead of padded with placeholder topics.
 */
import { ActivityFailure, ApplicationFailure, condition, continueAsNew, proxyActivities, setHandler, defineQuery } from '@temporalio/workflow';
import type { Activities, ExpandInput, ExpandResult, FailedExpansion } from '../activities';
import type { TopicBuildInput } from '../config/topic-build-input';
import { modelCallActivityOptions } from './activity-options';
import { RUN_FATAL_TYPES } from '../config/retry-policy';
import { GraphCore, type GraphNode } from '../topics/graph-core';
import { relevantNodes } from '../topics/relevance';

export interface TopicBuildProgress {
  expanded: number;
  failed: number;
  inFlight: number;
  queued: number;
  nodes: number;
  inputTokens: number;
  outputTokens: number;
  /** Proposed subtopics not added because they repeated a sibling, an ancestor or an existing node. */
  duplicatesDropped?: number;
  /** Workflow runs the build has taken so far (it continues as new every `expansionsPerRun` expansions). */
  segments?: number;
}

export interface TopicBuildResult {
  file: string;
  mode: 'tree' | 'graph';
  paths: number;
  nodes: number;
  failed: number;
  crossLinks: number;
  progress: TopicBuildProgress;
}

export const topicBuildProgressQuery = defineQuery<TopicBuildProgress>('getProgress');

function activitiesFor(input: TopicBuildInput) {
  return proxyActivities<Activities>(modelCallActivityOptions(input.retry, input.requestTimeoutSeconds, input.heartbeatTimeoutSeconds));
}

/** The store-only activities that carry a build's state across continue-as-new. */
function stateActivities() {
  return proxyActivities<Activities>({
    startToCloseTimeout: '1 minute',
    retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 10 },
  });
}

/** Characters of state per activity payload (well below the 512 KB warning and 2 MB limit of one payload). */
const STATE_CHUNK = 200_000;

/** Writes `state` to the store in chunks, for the next run of the build; returns how many. */
async function saveState(input: TopicBuildInput, segment: number, state: unknown): Promise<number> {
  const { writeTopicBuildState } = stateActivities();
  const text = JSON.stringify(state);
  const chunks = Math.max(1, Math.ceil(text.length / STATE_CHUNK));
  for (let i = 0; i < chunks; i++)
    await writeTopicBuildState({ buildDir: input.buildDir, segment, index: i, chunk: text.slice(i * STATE_CHUNK, (i + 1) * STATE_CHUNK) });
  return chunks;
}

/** The state the previous run of the build saved (see `saveState`). */
async function loadState<T>(input: TopicBuildInput, resume: { segment: number; chunks: number }): Promise<T> {
  const { readTopicBuildState } = stateActivities();
  let text = '';
  for (let i = 0; i < resume.chunks; i++) text += await readTopicBuildState({ buildDir: input.buildDir, segment: resume.segment, index: i });
  return JSON.parse(text) as T;
}

/**
 * Runs `work` for queued items with at most `limit` in flight; items may enqueue more. After
 * `budget` items it stops starting new ones and returns 'paused' once the started ones are done
 * (the caller continues as new); 'done' when the queue is empty.
 */
async function drainQueue<T>(queue: T[], limit: number, work: (item: T) => Promise<void>, state: BuildState, budget: number): Promise<'done' | 'paused'> {
  let started = 0;
  for (;;) {
    await condition(
      () =>
        state.fatal !== undefined ||
        (started < budget && queue.length > 0 && state.inFlight < limit) ||
        (state.inFlight === 0 && (queue.length === 0 || started >= budget)),
    );
    if (state.fatal !== undefined) {
      await condition(() => state.inFlight === 0);
      throw state.fatal;
    }
    if (state.inFlight === 0 && queue.length === 0) return 'done';
    if (state.inFlight === 0 && started >= budget) return 'paused';
    const item = queue.shift()!;
    state.inFlight++;
    started++;
    void work(item).finally(() => state.inFlight--);
  }
}

/** What a build keeps about failed expansions; shared by the tree and graph builds. */
interface BuildState {
  inFlight: number;
  fatal?: unknown;
  failures: FailedExpansion[];
  progress: { failed: number };
}

/**
 * Records a node whose expansion failed after its retries. A refused key or a bad request stops the
 * whole build (every other node would fail the same way); anything else leaves the node a leaf.
 */
function recordFailure(state: BuildState, what: string, path: string[], err: unknown): void {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  const type = cause instanceof ApplicationFailure ? cause.type : undefined;
  const message = cause instanceof Error ? cause.message : String(cause);
  state.progress.failed++;
  state.failures.push({ node_path: path, error: message });
  if (type && RUN_FATAL_TYPES.includes(type) && state.fatal === undefined) {
    state.fatal = ApplicationFailure.nonRetryable(`${what} stopped: ${message}`, type);
  }
}

/** What an expansion needs of the build's input: the same in every segment (checkpoints are keyed by path or node id). */
function expansionBuild(input: TopicBuildInput): ExpandInput['build'] {
  const build: Partial<TopicBuildInput> = { ...input };
  delete build.rootPrompt;
  delete build.resume;
  delete build.expansionsPerRun;
  return build as ExpandInput['build'];
}

/** What a tree build carries across continue-as-new. */
interface TreeState {
  queue: string[][];
  progress: { expanded: number; failed: number; nodes: number; inputTokens: number; outputTokens: number; duplicatesDropped: number };
  failures: FailedExpansion[];
}

export async function topicTreeWorkflow(input: TopicBuildInput): Promise<TopicBuildResult> {
  const { expandTopic, saveTopicTree } = activitiesFor(input);
  const { rootPrompt } = input;
  const build = expansionBuild(input);
  const saved = input.resume ? await loadState<TreeState>(input, input.resume) : undefined;
  const queue: string[][] = saved?.queue ?? [[rootPrompt]];
  const progress = saved?.progress ?? { expanded: 0, failed: 0, nodes: 1, inputTokens: 0, outputTokens: 0, duplicatesDropped: 0 };
  const failures: FailedExpansion[] = saved?.failures ?? [];
  const segment = input.resume?.segment ?? 0;
  const segments = () => ({ segments: segment + 1 });
  const state: BuildState = { inFlight: 0, failures, progress };
  setHandler(topicBuildProgressQuery, () => ({ ...progress, inFlight: state.inFlight, queued: queue.length, ...segments() }));

  const outcome = await drainQueue(
    queue,
    input.concurrency,
    async (path) => {
      try {
        const r: ExpandResult = await expandTopic({ build, path });
        progress.expanded++;
        progress.inputTokens += r.inputTokens;
        progress.outputTokens += r.outputTokens;
        progress.duplicatesDropped += r.duplicatesDropped ?? 0;
        progress.nodes += r.subtopics.length;
        if (path.length < input.depth) for (const s of r.subtopics) queue.push([...path, s.topic]);
      } catch (err) {
        recordFailure(state, `topic tree ${input.buildId}`, path, err);
      }
    },
    state,
    input.expansionsPerRun,
  );
  if (outcome === 'paused') {
    const chunks = await saveState(input, segment + 1, { queue, progress, failures } satisfies TreeState);
    return continueAsNew<typeof topicTreeWorkflow>({ ...input, resume: { segment: segment + 1, chunks } });
  }

  const out = await saveTopicTree({ buildDir: input.buildDir, rootPrompt, depth: input.depth, failures });
  return {
    file: out.file,
    mode: 'tree',
    paths: out.leaves,
    nodes: progress.nodes,
    failed: out.failed,
    crossLinks: 0,
    progress: { ...progress, inFlight: 0, queued: 0, ...segments() },
  };
}

/** What a graph build carries across continue-as-new. */
interface GraphState {
  graph: Record<string, unknown>;
  depthOf: [number, number][];
  branchOf: [number, number | null][];
  queue: number[];
  progress: TreeState['progress'];
  failures: FailedExpansion[];
}

export async function topicGraphWorkflow(input: TopicBuildInput): Promise<TopicBuildResult> {
  const { expandTopic, saveTopicGraph } = activitiesFor(input);
  const { rootPrompt } = input;
  const build = expansionBuild(input);
  const saved = input.resume ? await loadState<GraphState>(input, input.resume) : undefined;
  const graph = new GraphCore(0, { provider: input.model.provider, model: input.model.model, temperature: input.temperature });
  let depthOf: Map<number, number>;
  let branchOf: Map<number, number | undefined>;
  let queue: number[];
  if (saved) {
    for (const n of Object.values(saved.graph.nodes as Record<string, GraphNode>)) graph.nodes.set(n.id, n);
    depthOf = new Map(saved.depthOf);
    branchOf = new Map(saved.branchOf.map(([k, v]) => [k, v ?? undefined]));
    queue = saved.queue;
  } else {
    const root = graph.addNode(rootPrompt, undefined, { depth: 0 });
    depthOf = new Map<number, number>([[root.id, 0]]);
    branchOf = new Map<number, number | undefined>([[root.id, undefined]]);
    queue = [root.id];
  }
  const progress = saved?.progress ?? { expanded: 0, failed: 0, nodes: 1, inputTokens: 0, outputTokens: 0, duplicatesDropped: 0 };
  const failures: FailedExpansion[] = saved?.failures ?? [];
  const segment = input.resume?.segment ?? 0;
  const segments = () => ({ segments: segment + 1 });
  const state: BuildState = { inFlight: 0, failures, progress };
  setHandler(topicBuildProgressQuery, () => ({ ...progress, inFlight: state.inFlight, queued: queue.length, ...segments() }));

  const ancestors = (id: number): Set<number> => {
    const out = new Set<number>();
    const stack = [...(graph.nodes.get(id)?.parents ?? [])];
    while (stack.length) {
      const n = stack.pop()!;
      if (out.has(n)) continue;
      out.add(n);
      stack.push(...(graph.nodes.get(n)?.parents ?? []));
    }
    return out;
  };

  const outcome = await drainQueue(
    queue,
    input.concurrency,
    async (id) => {
      const path = graph.pathTo(id);
      const all = [...graph.nodes.values()].map((n) => ({ id: n.id, topic: n.topic, branch: branchOf.get(n.id) }));
      const context = relevantNodes(all, path, { id, branch: branchOf.get(id), ancestors: ancestors(id) }, input.maxContextNodes);
      try {
        const r: ExpandResult = await expandTopic({ build, path, nodeId: id, context });
        progress.expanded++;
        progress.inputTokens += r.inputTokens;
        progress.outputTokens += r.outputTokens;
        progress.duplicatesDropped += r.duplicatesDropped ?? 0;
        const depth = depthOf.get(id)! + 1;
        for (const s of r.subtopics) {
          const child = graph.addNode(s.topic, id, { depth });
          depthOf.set(child.id, depth);
          branchOf.set(child.id, branchOf.get(id) ?? child.id);
          progress.nodes++;
          // Each proposed connection adds an edge from that existing node to the new one, unless it would close a cycle.
          for (const from of s.connections) if (from !== id) graph.addEdge(from, child.id);
          if (depth < input.depth) queue.push(child.id);
        }
      } catch (err) {
        recordFailure(state, `topic graph ${input.buildId}`, path, err);
      }
    },
    state,
    input.expansionsPerRun,
  );
  const graphState = (): GraphState => ({
    graph: graph.toJSON(),
    depthOf: [...depthOf],
    branchOf: [...branchOf].map(([k, v]) => [k, v ?? null]),
    queue,
    progress,
    failures,
  });
  if (outcome === 'paused') {
    const chunks = await saveState(input, segment + 1, graphState());
    return continueAsNew<typeof topicGraphWorkflow>({ ...input, resume: { segment: segment + 1, chunks } });
  }

  // A build that continues as new hands its graph to the save through the store (it may exceed one payload).
  const out = await saveTopicGraph({
    buildDir: input.buildDir,
    state: { segment: segment + 1, chunks: await saveState(input, segment + 1, graphState()) },
    failures,
  });
  return {
    file: out.file,
    mode: 'graph',
    paths: graph.getAllPaths().length,
    nodes: graph.nodes.size,
    failed: failures.length,
    crossLinks: graph.crossLinkCount(),
    progress: { ...progress, inFlight: 0, queued: 0, ...segments() },
  };
}
