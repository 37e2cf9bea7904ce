/**
 * Topic trees and graphs built by an LLM: one activity per node expansion, one global bound on
 * expansions in flight (a queue, not per-sibling limits, so concurrency never compounds with
 * depth), retries from the engine, failures recorded instead of padded with placeholder topics.
 */
import { ActivityFailure, ApplicationFailure, condition, proxyActivities, setHandler, defineQuery } from '@temporalio/workflow';
import type { Activities, ExpandResult, FailedExpansion } from '../activities';
import type { TopicBuildInput } from '../config/topic-build-input';
import { modelCallActivityOptions } from './activity-options';
import { RUN_FATAL_TYPES } from './failures';
import { GraphCore } from '../topics/graph-core';
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

/** Runs `work` for queued items with at most `limit` in flight; items may enqueue more. */
async function drainQueue<T>(queue: T[], limit: number, work: (item: T) => Promise<void>, state: BuildState): Promise<void> {
  for (;;) {
    await condition(() => state.fatal !== undefined || (queue.length > 0 && state.inFlight < limit) || (queue.length === 0 && state.inFlight === 0));
    if (state.fatal !== undefined) {
      await condition(() => state.inFlight === 0);
      throw state.fatal;
    }
    if (queue.length === 0) return;
    const item = queue.shift()!;
    state.inFlight++;
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

export async function topicTreeWorkflow(input: TopicBuildInput): Promise<TopicBuildResult> {
  const { expandTopic, saveTopicTree } = activitiesFor(input);
  const { rootPrompt, ...build } = input;
  const queue: string[][] = [[rootPrompt]];
  const progress = { expanded: 0, failed: 0, nodes: 1, inputTokens: 0, outputTokens: 0, duplicatesDropped: 0 };
  const failures: FailedExpansion[] = [];
  const state: BuildState = { inFlight: 0, failures, progress };
  setHandler(topicBuildProgressQuery, () => ({ ...progress, inFlight: state.inFlight, queued: queue.length }));

  await drainQueue(
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
  );

  const saved = await saveTopicTree({ buildDir: input.buildDir, rootPrompt, depth: input.depth, failures });
  return {
    file: saved.file,
    mode: 'tree',
    paths: saved.leaves,
    nodes: progress.nodes,
    failed: saved.failed,
    crossLinks: 0,
    progress: { ...progress, inFlight: 0, queued: 0 },
  };
}

export async function topicGraphWorkflow(input: TopicBuildInput): Promise<TopicBuildResult> {
  const { expandTopic, saveTopicGraph } = activitiesFor(input);
  const { rootPrompt, ...build } = input;
  const graph = new GraphCore(0, { provider: input.model.provider, model: input.model.model, temperature: input.temperature });
  const root = graph.addNode(rootPrompt, undefined, { depth: 0 });
  const depthOf = new Map<number, number>([[root.id, 0]]);
  const branchOf = new Map<number, number | undefined>([[root.id, undefined]]);
  const queue: number[] = [root.id];
  const progress = { expanded: 0, failed: 0, nodes: 1, inputTokens: 0, outputTokens: 0, duplicatesDropped: 0 };
  const failures: FailedExpansion[] = [];
  const state: BuildState = { inFlight: 0, failures, progress };
  setHandler(topicBuildProgressQuery, () => ({ ...progress, inFlight: state.inFlight, queued: queue.length }));

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

  await drainQueue(
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
  );

  const saved = await saveTopicGraph({ buildDir: input.buildDir, graph: graph.toJSON(), failures });
  return {
    file: saved.file,
    mode: 'graph',
    paths: graph.getAllPaths().length,
    nodes: graph.nodes.size,
    failed: failures.length,
    crossLinks: graph.crossLinkCount(),
    progress: { ...progress, inFlight: 0, queued: 0 },
  };
}
