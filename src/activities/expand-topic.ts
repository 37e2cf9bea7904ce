import { Context } from '@temporalio/activity';
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { TopicBuildInput } from '../config/topic-build-input';
import { ModelError } from '../errors';
import { toStrictJsonSchema } from '../llm/json-schema';
import type { ProviderFactory } from '../llm/provider-factory';
import { exists, writeFileAtomic } from '../storage/run-store';
import { sameTopic } from '../dataset/dedup';
import { toFailure } from './to-failure';

/** One node to expand: its path from the root, and (graph mode) existing nodes it may link to. */
export interface ExpandInput {
  build: Omit<TopicBuildInput, 'rootPrompt'>;
  path: string[];
  /** Graph mode: node id, for the checkpoint name. */
  nodeId?: number;
  context?: { id: number; topic: string }[];
}

export interface ExpandResult {
  subtopics: { topic: string; connections: number[] }[];
  inputTokens: number;
  outputTokens: number;
  cached: boolean;
  /** Proposed subtopics dropped as duplicates of a sibling, an ancestor or (graph) an existing node. */
  duplicatesDropped?: number;
}

/** Extra calls an expansion may make to replace subtopics dropped as duplicates. */
const MAX_ASKS_AGAIN = 2;

/** Checkpoint file of a node: a hash of its path (tree) or its id (graph). */
export function nodeFile(buildDir: string, nodePath: string[], nodeId?: number): string {
  const key = nodeId !== undefined ? `g${nodeId}` : createHash('sha256').update(JSON.stringify(nodePath)).digest('hex').slice(0, 16);
  return path.join(buildDir, 'nodes', `${key}.json`);
}

const treeSchema = (n: number) => z.object({ subtopics: z.array(z.string().min(1)).min(n).max(n) });
const graphSchema = (n: number) =>
  z.object({ subtopics: z.array(z.object({ topic: z.string().min(1), connections: z.array(z.number().int()) })).min(n).max(n) });

/**
 * Expands one topic node with one structured call. The answer is checkpointed, so a retried or
 * replayed expansion of a node whose answer is on disk never calls the model again.
 */
export function makeExpandTopic(providers: ProviderFactory) {
  return async function expandTopic(input: ExpandInput): Promise<ExpandResult> {
    const b = input.build;
    const file = nodeFile(b.buildDir, input.path, input.nodeId);
    if (await exists(file)) return { ...(JSON.parse(await fs.readFile(file, 'utf8')) as ExpandResult), cached: true };
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
          headers: { 'x-deepfabric-batch': `${b.buildId}/${path.basename(file, '.json')}` },
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
      const subtopics = raw.slice(0, n).map((s) =>
        typeof s === 'string' ? { topic: s, connections: [] } : { topic: s.topic, connections: s.connections.filter((c) => known.has(c)) },
      );
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
    await fs.mkdir(path.dirname(file), { recursive: true });
    await writeFileAtomic(file, JSON.stringify(out));
    return out;
  };
}

/** Failed expansion as DeepFabric's side file records it. */
export interface FailedExpansion {
  node_path: string[];
  error: string;
}

/**
 * Writes the tree (DeepFabric JSONL, rebuilt from the node checkpoints so no big list passes
 * through history) and `<name>_failed.jsonl`. A node whose expansion failed is a shorter leaf.
 */
export async function saveTopicTree(input: { buildDir: string; rootPrompt: string; depth: number; failures: FailedExpansion[] }): Promise<{ file: string; leaves: number; failed: number }> {
  const leaves: string[][] = [];
  const walk = async (p: string[]): Promise<void> => {
    if (p.length > input.depth) return void leaves.push(p);
    const file = nodeFile(input.buildDir, p);
    if (!(await exists(file))) return void leaves.push(p);
    const { subtopics } = JSON.parse(await fs.readFile(file, 'utf8')) as ExpandResult;
    for (const s of subtopics) await walk([...p, s.topic]);
  };
  await walk([input.rootPrompt]);
  const file = path.join(input.buildDir, 'topics.jsonl');
  await writeFileAtomic(file, leaves.map((p) => JSON.stringify({ path: p }) + '\n').join(''));
  const now = new Date().toISOString();
  await writeFileAtomic(
    path.join(input.buildDir, 'topics_failed.jsonl'),
    input.failures.map((f) => JSON.stringify({ failed_generation: { ...f, timestamp: now } }) + '\n').join(''),
  );
  return { file, leaves: leaves.length, failed: input.failures.length };
}

/** Writes the graph JSON (DeepFabric's form) and the failures side file. */
export async function saveTopicGraph(input: { buildDir: string; graph: Record<string, unknown>; failures: FailedExpansion[] }): Promise<{ file: string }> {
  const file = path.join(input.buildDir, 'topics.json');
  await writeFileAtomic(file, JSON.stringify(input.graph, null, 2) + '\n');
  const now = new Date().toISOString();
  await writeFileAtomic(
    path.join(input.buildDir, 'topics_failed.jsonl'),
    input.failures.map((f) => JSON.stringify({ failed_generation: { ...f, timestamp: now } }) + '\n').join(''),
  );
  return { file };
}
