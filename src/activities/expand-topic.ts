import { ApplicationFailure, Context, log } from '@temporalio/activity';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { z } from 'zod';
import { TopicBuildInputSchema } from '../config/topic-build-input';
import { ModelError } from '../errors';
import { toStrictJsonSchema } from '../llm/json-schema';
import type { ProviderFactory } from '../llm/provider-factory';
import type { Store } from '../storage/store';
import { sameTopic } from '../dataset/dedup';
import { toFailure } from './to-failure';
import { parseCheckpoint } from './types';
import { deepFabricGraphFile } from '../topics/deepfabric-ids';

/** One node to expand: its path from the root, and (graph mode) existing nodes it may link to. */
export const ExpandInputSchema = z.object({
  build: TopicBuildInputSchema.omit({ rootPrompt: true, resume: true, expansionsPerRun: true }),
  path: z.array(z.string()),
  /** Graph mode: node id, for the checkpoint name. */
  nodeId: z.number().int().optional(),
  context: z.array(z.object({ id: z.number().int(), topic: z.string() })).optional(),
});
export type ExpandInput = z.infer<typeof ExpandInputSchema>;

const ExpandResultSchema = z.object({
  subtopics: z.array(z.object({ topic: z.string(), connections: z.array(z.number().int()) })),
  inputTokens: z.number(),
  outputTokens: z.number(),
  cached: z.boolean(),
  /** Proposed subtopics dropped as duplicates of a sibling, an ancestor or (graph) an existing node. */
  duplicatesDropped: z.number().int().optional(),
});
export type ExpandResult = z.infer<typeof ExpandResultSchema>;

/** A node's checkpoint, parsed (an unreadable one counts as absent: the node is expanded again). */
async function readNode(build: ReturnType<Store['topicBuild']>, key: string): Promise<ExpandResult | undefined> {
  return parseCheckpoint(ExpandResultSchema, await build.readNode<unknown>(key), (why) =>
    log.warn(`topic node ${key}: checkpoint unreadable (${why}); expanding it again`),
  );
}

/** Extra calls an expansion may make to replace subtopics dropped as duplicates. */
const MAX_ASKS_AGAIN = 2;

/** Checkpoint key of a node: a hash of its path (tree) or its id (graph). */
function nodeKey(nodePath: string[], nodeId?: number): string {
  return nodeId !== undefined ? `g${nodeId}` : createHash('sha256').update(JSON.stringify(nodePath)).digest('hex').slice(0, 16);
}

/** A build's id: the last part of its folder (inputs of builds carry the client's folder, not a path workers use). */
const buildIdOf = (buildDir: string) => path.basename(buildDir);

const treeSchema = (n: number) => z.object({ subtopics: z.array(z.string().min(1)).min(n).max(n) });
const graphSchema = (n: number) =>
  z.object({
    subtopics: z
      .array(z.object({ topic: z.string().min(1), connections: z.array(z.number().int()) }))
      .min(n)
      .max(n),
  });

/**
 * Expands one topic node with one structured call. The answer is checkpointed, so a retried or
 * replayed expansion of a node whose answer is on disk never calls the model again.
 */
export function makeExpandTopic(providers: ProviderFactory, store: Store) {
  return async function expandTopic(input: ExpandInput): Promise<ExpandResult> {
    const b = input.build;
    const key = nodeKey(input.path, input.nodeId);
    const build = store.topicBuild(buildIdOf(b.buildDir));
    const done = await readNode(build, key);
    if (done) return { ...done, cached: true };
    const ctx = Context.current();
    const beat = setInterval(() => ctx.heartbeat(), 1000);
    const graph = b.mode === 'graph';
    const known = new Set((input.context ?? []).map((n) => n.id));
    const ask = async (n: number, avoid: string[]) => {
      const schema = graph ? graphSchema(n) : treeSchema(n);
      const lines = [
        `Generate exactly ${n} distinct, specific subtopics of the topic path: ${input.path.join(' -> ')}.`,
        'Each subtopic must be narrower than the last topic of the path and different from the others.',
      ];
      if (avoid.length) lines.push(`Do not repeat or rephrase any of these: ${avoid.join('; ')}.`);
      if (graph && input.context?.length) {
        lines.push(
          'Existing topics in the graph. When a new subtopic is genuinely related to one of them, put that topic\'s id in its "connections" (else leave it empty):',
          ...input.context.map((c) => `[${c.id}] ${c.topic}`),
        );
      } else if (graph) {
        lines.push('Leave "connections" empty.');
      }
      let result;
      try {
        result = await providers.get(b.model).generate({
          system: b.systemPrompt,
          prompt: lines.join('\n'),
          jsonSchema: toStrictJsonSchema(schema),
          schemaName: graph ? 'graph_subtopics' : 'subtopics',
          temperature: b.temperature,
          maxTokens: b.maxTokens,
          timeoutMs: b.requestTimeoutSeconds * 1000,
          signal: ctx.cancellationSignal,
          // Header values must be ASCII, so the node is named by its checkpoint key, not its topic.
          headers: { 'x-deepfabric-batch': `${b.buildId}/${key}` },
        });
      } catch (err) {
        if (ctx.cancellationSignal.aborted) await ctx.cancelled;
        if (err instanceof ModelError) throw toFailure(err);
        throw err;
      }
      const parsed = schema.safeParse(result.object);
      if (!parsed.success) {
        throw toFailure(
          new ModelError(`subtopics of "${input.path.join(' -> ')}" do not match the schema: ${parsed.error.issues[0]?.message}`, {
            category: 'validation_error',
            provider: b.model.provider,
          }),
        );
      }
      const raw = parsed.data.subtopics as (string | { topic: string; connections: number[] })[];
      const subtopics = raw
        .slice(0, n)
        .map((s) => (typeof s === 'string' ? { topic: s, connections: [] } : { topic: s.topic, connections: s.connections.filter((c) => known.has(c)) }));
      return { subtopics, usage: result.usage };
    };

    // A proposed subtopic that repeats a sibling, an ancestor or (graph) an existing node is not
    // added; the model is asked again for the missing ones, at most MAX_ASKS_AGAIN times.
    const existing = [...input.path, ...(input.context ?? []).map((c) => c.topic)];
    const kept: ExpandResult['subtopics'] = [];
    let inputTokens = 0;
    let outputTokens = 0;
    let dropped = 0;
    try {
      for (let round = 0; round <= MAX_ASKS_AGAIN && kept.length < b.degree; round++) {
        const answer = await ask(b.degree - kept.length, round === 0 ? [] : [...kept.map((k) => k.topic)]);
        inputTokens += answer.usage.inputTokens;
        outputTokens += answer.usage.outputTokens;
        for (const s of answer.subtopics) {
          if ([...existing, ...kept.map((k) => k.topic)].some((t) => sameTopic(s.topic, t))) dropped++;
          else kept.push(s);
        }
      }
    } finally {
      clearInterval(beat);
    }
    const out: ExpandResult = { subtopics: kept, inputTokens, outputTokens, cached: false, ...(dropped ? { duplicatesDropped: dropped } : {}) };
    await build.writeNode(key, out);
    // The stored answer wins (an attempt racing a slow one): the build's tree is what the store holds.
    const stored = await readNode(build, key);
    return stored ? { ...stored, cached: false } : out;
  };
}

/** Failed expansion as DeepFabric's side file records it. */
export interface FailedExpansion {
  node_path: string[];
  error: string;
}

/** DeepFabric's failures side file. */
function failuresFile(failures: FailedExpansion[]): string {
  const now = new Date().toISOString();
  return failures.map((f) => JSON.stringify({ failed_generation: { ...f, timestamp: now } }) + '\n').join('');
}

/**
 * Writes the tree (DeepFabric JSONL, rebuilt from the node checkpoints so no big list passes
 * through history) and `topics_failed.jsonl` into the store. A node whose expansion failed is a
 * shorter leaf. Returns the file's path in the client's build folder (the client copies it there).
 */
export function makeSaveTopicTree(store: Store) {
  return async function saveTopicTree(input: {
    buildDir: string;
    rootPrompt: string;
    depth: number;
    failures: FailedExpansion[];
  }): Promise<{ file: string; leaves: number; failed: number }> {
    const build = store.topicBuild(buildIdOf(input.buildDir));
    const leaves: string[][] = [];
    const walk = async (p: string[]): Promise<void> => {
      if (p.length > input.depth) return void leaves.push(p);
      const node = await readNode(build, nodeKey(p));
      if (!node) return void leaves.push(p);
      for (const s of node.subtopics) await walk([...p, s.topic]);
    };
    await walk([input.rootPrompt]);
    await build.writeFile('topics.jsonl', leaves.map((p) => JSON.stringify({ path: p }) + '\n').join(''));
    await build.writeFile('topics_failed.jsonl', failuresFile(input.failures));
    return { file: path.join(input.buildDir, 'topics.jsonl'), leaves: leaves.length, failed: input.failures.length };
  };
}

/** Writes the graph JSON (DeepFabric's form) and the failures side file into the store. */
/** Where a build's state is kept between two workflow runs: chunk `index` of segment `segment`. */
const stateFile = (segment: number, index: number) => `state-${segment}-${index}.json`;

/**
 * A build's state crosses continue-as-new through the store, in chunks small enough for one
 * activity payload each (a big graph's state is megabytes; one payload may hold 2 MB).
 */
export function makeWriteTopicBuildState(store: Store) {
  return async function writeTopicBuildState(input: { buildDir: string; segment: number; index: number; chunk: string }): Promise<void> {
    await store.topicBuild(buildIdOf(input.buildDir)).writeFile(stateFile(input.segment, input.index), input.chunk);
  };
}

async function readStateChunk(store: Store, buildDir: string, segment: number, index: number): Promise<string> {
  const text = await store.topicBuild(buildIdOf(buildDir)).readFile(stateFile(segment, index));
  if (text === undefined)
    throw ApplicationFailure.nonRetryable(`topic build ${buildIdOf(buildDir)}: state chunk ${index} of segment ${segment} is not in the store`, 'store_error');
  return text;
}

export function makeReadTopicBuildState(store: Store) {
  return async function readTopicBuildState(input: { buildDir: string; segment: number; index: number }): Promise<string> {
    return readStateChunk(store, input.buildDir, input.segment, input.index);
  };
}

export function makeSaveTopicGraph(store: Store) {
  return async function saveTopicGraph(input: {
    buildDir: string;
    /** Where the graph's state chunks are (it may exceed one payload). */
    state: { segment: number; chunks: number };
    failures: FailedExpansion[];
  }): Promise<{ file: string }> {
    const build = store.topicBuild(buildIdOf(input.buildDir));
    let text = '';
    for (let i = 0; i < input.state.chunks; i++) text += await readStateChunk(store, input.buildDir, input.state.segment, i);
    const graph = (JSON.parse(text) as { graph: Record<string, unknown> }).graph;
    await build.writeFile('topics.json', JSON.stringify(deepFabricGraphFile(graph), null, 2) + '\n');
    await build.writeFile('topics_failed.jsonl', failuresFile(input.failures));
    return { file: path.join(input.buildDir, 'topics.json') };
  };
}
