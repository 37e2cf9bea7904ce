/** The other commands: info, visualize, worker, status, pause, resume, stop, cancel, topic inspect/prune, preview, export, runs, server. */
import { packageVersion } from '../../config/release';
import { control, controlClient, fail, hasLiveWorker, program, type ControlContext } from './common';
import { CancelledFailure } from '@temporalio/common';
import type { RunHandle } from '../run-handle';
import path from 'node:path';
import { PROVIDERS } from '../../config/model-spec';
import { Dataset } from '../../dataset/dataset';
import { FORMATTERS } from '../../dataset/formatters';
import { ConfigurationError, DataSetGeneratorError } from '../../errors';
import { SharedServerLease } from '../../worker/shared-server';
import { loadTopicModel } from '../../topics/topic-model-file';
import { inspectTopicFile, inspectTopics, prunePaths } from '../../topics/topic-tools';
import { Graph } from '../../topics/graph';
import { topicId } from '../../topics/deepfabric-ids';
import { mkdir } from 'node:fs/promises';
import { DEFAULT_TASK_QUEUE } from '../../config/paths';
import { defaultDataDir } from '../run-builder';
import { formatEnded, formatPreview, formatRunsTable, formatStatus, olderReleaseNote, localTime, type RunRow } from '../status-format';
import { writeFileAtomic } from '../../files';
import { openStore } from '../../storage/open-store';
import { connectionSettings } from '../../config/connection';
import { writeReport } from '../report';
import type { StoredSummary } from '../../activities/types';
import type { QualityNote } from '../../config/quality';

/** A topic file named on the command line (tree JSONL or graph JSON); a missing or bad one is a configuration error. */
function topicFile(file: string) {
  return loadTopicModel(path.resolve(file)).catch((err: NodeJS.ErrnoException) => {
    throw new ConfigurationError(err.code === 'ENOENT' ? `${file} does not exist` : err.message);
  });
}

program
  .command('info')
  .description('version, providers and the environment variables they read (set or not, never their values), where data and Temporal are')
  .action(() => {
    const rows = [
      `deepfabric-temporal ${packageVersion()} (node ${process.version})`,
      `data folder: ${path.resolve(process.env.DEEPFABRIC_DATA_DIR ?? defaultDataDir())}`,
      `run store: ${connectionSettings().storeUrl ? 'PostgreSQL (DEEPFABRIC_STORE)' : 'the data folder'}`,
      `Temporal: ${connectionSettings().cluster ? `cluster at ${connectionSettings().cluster!.address} (namespace ${connectionSettings().namespace})` : 'embedded dev server (no TEMPORAL_ADDRESS or temporal.toml profile address)'}`,
      'providers:',
      ...Object.entries(PROVIDERS).map(([name, def]) => {
        const keys = [def.keyEnv, ...('altKeyEnv' in def ? [def.altKeyEnv] : [])];
        const set = keys.filter((k) => process.env[k]);
        return `  ${name.padEnd(18)} key ${keys.join(' or ')}: ${set.length ? 'set' : def.keyRequired ? 'not set' : 'not needed'}; base URL ${process.env[def.baseUrlEnv] ? `from ${def.baseUrlEnv}` : (def.defaultBaseUrl ?? 'the SDK default')}`;
      }),
    ];
    process.stdout.write(rows.join('\n') + '\n');
  });

program
  .command('visualize')
  .argument('<topic-file>', 'tree JSONL or graph JSON')
  .option('--out <file>', 'write the drawing here: an SVG when it ends in .svg, else the Mermaid diagram (default: print Mermaid)')
  .option('--output <name>', "DeepFabric's flag: write <name>.svg")
  .description('draw a topic tree or graph as an SVG (no browser needed) or a Mermaid diagram')
  .action(async (file: string, o: { out?: string; output?: string }) => {
    try {
      const model = await topicFile(file);
      const out = o.output ? `${o.output.replace(/\.svg$/, '')}.svg` : o.out;
      if (out) {
        await writeFileAtomic(path.resolve(out), out.endsWith('.svg') ? model.toSvg() : model.toMermaid());
        process.stdout.write(`wrote ${path.resolve(out)}\n`);
      } else process.stdout.write(model.toMermaid());
    } catch (err) {
      fail(err);
    }
  });

program
  .command('worker')
  .description('run a worker for dataset runs (connects to TEMPORAL_ADDRESS, default 127.0.0.1:7233)')
  .option('--task-queue <name>', 'task queue (DEEPFABRIC_TASK_QUEUE)')
  .option('--max-concurrent <n>', 'slice activities at once', (v) => parseInt(v, 10), 200)
  .action(async (o: { taskQueue?: string; maxConcurrent: number }) => {
    try {
      const conn = connectionSettings();
      const cluster = conn.cluster ?? { address: '127.0.0.1:7233' };
      const taskQueue = o.taskQueue ?? conn.taskQueue ?? DEFAULT_TASK_QUEUE;
      const { createWorker } = require('../../worker/worker') as typeof import('../../worker/worker'); // loaded here: other commands never load the worker SDK
      const { worker } = await createWorker({ cluster, namespace: conn.namespace, taskQueue, maxConcurrentActivities: o.maxConcurrent });
      process.stderr.write(`worker polling ${taskQueue} at ${cluster.address}\n`);
      await worker.run();
    } catch (err) {
      fail(err);
    }
  });

control('status', 'progress, rate, ETA, tokens and errors of a run (--json for scripts)', async (run, json, c) => {
  const described = await run.handle.describe();
  const memo = (described.memo ?? {}) as { progress?: { accepted?: number; target?: number; status?: string }; model?: string };
  // A query runs workflow code on a worker; without one it fails, and the memo still holds the progress.
  if (described.status.name === 'RUNNING') {
    const served = await hasLiveWorker(c.ctx, described.taskQueue);
    const stats = served ? await c.ctx.client.connection.withDeadline(Date.now() + 10_000, () => run.stats()).catch(() => undefined) : undefined;
    if (stats) return json ? { ...stats, temporal: c.where } : `${formatStatus(stats)}\n${c.where}`;
    const unserved = {
      runId: run.runId,
      temporalStatus: 'RUNNING',
      ...memo,
      note: `no worker is running ${run.runId} (nothing is spent meanwhile): the same generate command resumes it; progress as last recorded`,
    };
    return json ? { ...unserved, temporal: c.where } : `${formatEnded(unserved)}\nnote      ${unserved.note}\n${c.where}`;
  }
  // An ended run's result (from its history) has its tokens, cost and dataset; a failed one has none.
  const result = await run.handle.result().catch(() => undefined);
  const ended = {
    runId: run.runId,
    temporalStatus: described.status.name,
    closedAt: described.closeTime?.toISOString(),
    ...memo,
    ...(result
      ? {
          records: result.records,
          inputTokens: result.stats.inputTokens,
          outputTokens: result.stats.outputTokens,
          ...(result.stats.costUsd !== undefined ? { costUsd: result.stats.costUsd } : {}),
          datasetPath: result.datasetPath,
        }
      : {}),
  };
  return json ? { ...ended, temporal: c.where } : `${formatEnded(ended)}\n${c.where}`;
});

/** A signal to a run that may have no worker: say when it takes effect. */
async function signalled(run: RunHandle, c: ControlContext, done: string): Promise<string> {
  const d = await run.handle.describe();
  if (d.status.name !== 'RUNNING') return `${run.runId} has already ended (${d.status.name.toLowerCase()}): nothing to do`;
  return (await hasLiveWorker(c.ctx, d.taskQueue)) ? done : `${done} (no worker is running it now: it takes effect when the same generate command resumes it)`;
}
control('pause', 'start no new batches (in-flight ones finish)', async (run, _json, c) => {
  await run.pause();
  return signalled(run, c, `paused ${run.runId}`);
});
control('resume', 'resume a paused run', async (run, _json, c) => {
  await run.resume();
  return signalled(run, c, `resumed ${run.runId}`);
});

/**
 * Cancel ends the run now, even when no command runs it: in embedded mode this command's worker
 * serves the run until it has assembled its records, and it never calls a model (an attempt it
 * picks up waits for the cancellation). Stop lets in-flight batches finish, which takes a worker
 * that calls the model: without one it waits for the command that resumes the run, and says so.
 */
async function endRun(run: RunHandle, c: ControlContext, how: 'stop' | 'cancel'): Promise<string> {
  const d = await run.handle.describe();
  if (d.status.name !== 'RUNNING') return `${run.runId} has already ended (${d.status.name.toLowerCase()}): nothing to ${how}`;
  const batchMode = (d.memo as { callMode?: string } | undefined)?.callMode === 'batch';
  if (how === 'stop') {
    await run.stop();
    const atProvider = batchMode ? '; its provider batches are cancelled at the provider, the lines they had answered kept' : '';
    if (c.ctx.mode !== 'embedded' || (await hasLiveWorker(c.ctx, d.taskQueue))) return `stopping ${run.runId}${atProvider}: ${partialNote(run.runId)}`;
    return (
      `stop recorded for ${run.runId}, but no worker is running it: it stops (finishing its in-flight batches) when the same generate command resumes it. ` +
      `deepfabric cancel ${run.runId} ends it now without another model call`
    );
  }
  await run.cancel();
  const atProvider = batchMode ? ' (its provider batches are cancelled at the provider)' : '';
  if (c.ctx.mode !== 'embedded') return `cancelling ${run.runId}${atProvider}: ${partialNote(run.runId)}`;
  process.stderr.write(`cancelling ${run.runId}; waiting while it assembles its records (no model is called) ...\n`);
  await c.ctx.serve(d.taskQueue, { modelCalls: false });
  const outcome = await run.handle.result().then(
    (r) => `${r.status}: ${r.records} records`,
    (err: Error) => (err.cause instanceof CancelledFailure ? 'cancelled' : `ended: ${err.cause instanceof Error ? err.cause.message : err.message}`),
  );
  return `${run.runId} ${outcome}${atProvider}; ${partialNote(run.runId)}`;
}
const partialNote = (runId: string) =>
  `its records so far are assembled into runs/${runId}/dataset.jsonl in the data folder; deepfabric export ${runId} --out <file> writes them in any format`;
control('stop', 'stop gracefully: finish in-flight batches, assemble the partial dataset', (run, _json, c) => endRun(run, c, 'stop'));
control('cancel', 'cancel in-flight batches and assemble the partial dataset', (run, _json, c) => endRun(run, c, 'cancel'));

const topic = program.command('topic').description('inspect or prune a topic file (tree JSONL or graph JSON)');
const intOption = (name: string, min: number) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new ConfigurationError(`${name}: expected an integer of at least ${min}, got ${v}`);
  return n;
};
topic
  .command('inspect')
  .argument('<file>', 'tree JSONL or graph JSON')
  .option('-l, --level <n>', 'the topics at this depth (0 = the root, 1 = its children, ...)', intOption('--level', 0))
  .option('-e, --expand [n]', 'with --level: the paths below those topics, n levels deep (all without n)', intOption('--expand', 0))
  .option('-a, --all', 'every path')
  .option('-f, --format <format>', "tree (default), table, or json (DeepFabric 4.13's keys, for scripts)", 'tree')
  .option('-u, --uuid', "each topic's id: a graph node's uuid (what topic prune --uuid takes), a tree path's topic_id")
  .option('--paths', 'every path (as --all)')
  .description('paths, depth, topics per level and per top-level branch; a level, its subtrees, or every path')
  .action(async (file: string, o: { level?: number; expand?: number | true; all?: boolean; format: string; uuid?: boolean; paths?: boolean }) => {
    try {
      if (!['tree', 'table', 'json'].includes(o.format)) throw new ConfigurationError(`--format: expected tree, table or json, got ${o.format}`);
      if (o.expand !== undefined && o.level === undefined) throw new ConfigurationError('--expand: only with --level (the topics to expand)');
      const model = await topicFile(file);
      const paths = model.getAllPaths();
      const graph = model instanceof Graph ? model : undefined;
      const metadata: Record<string, unknown> = graph
        ? {
            total_nodes: graph.nodes.size,
            has_cycles: graph.hasCycle(),
            root_topic: graph.nodes.get(graph.rootId)?.topic ?? null,
            ...Object.fromEntries(['created_at', 'provider', 'model'].filter((k) => graph.metadata[k]).map((k) => [k, graph.metadata[k]])),
          }
        : paths.length
          ? { root_topic: paths[0]![0] }
          : {};
      const all = o.all || o.paths;
      const r = inspectTopicFile(file, paths, metadata, { level: o.level, expand: o.expand === true ? -1 : o.expand, all }, graph ? 'graph' : 'tree');
      if (o.format === 'json') {
        process.stdout.write(JSON.stringify(r, null, 2) + '\n');
        return;
      }
      // Ids by path: a graph's leaf uuid per root-to-leaf path, a tree path's topic_id.
      const uuids = graph?.uuids();
      const leafIds = new Map<string, string>();
      if (o.uuid) {
        if (graph) {
          const byTopic = new Map([...graph.nodes.values()].map((n) => [n.topic, uuids!.get(n.id)!]));
          for (const p of paths) leafIds.set(JSON.stringify(p), byTopic.get(p.at(-1)!) ?? '');
        } else for (const p of paths) leafIds.set(JSON.stringify(p), topicId(p));
      }
      const idOf = (p: string[]) => (o.uuid && leafIds.has(JSON.stringify(p)) ? `  [${leafIds.get(JSON.stringify(p))}]` : '');
      const s = inspectTopics(paths);
      const lines = [
        `${file}: ${s.paths} paths, depth ${s.maxDepth}${graph ? `, ${graph.nodes.size} nodes` : ''}`,
        `topics per level: ${s.perLevel.map((n, i) => `${i}: ${n}`).join(', ')}`,
        'paths per top-level branch:',
        ...s.branches.map(([b, n]) => `  ${String(n).padStart(6)}  ${b}`),
      ];
      const rows = (title: string, list: string[][], render: (p: string[]) => string) => [`${title}:`, ...list.map((p) => `  ${render(p)}`)];
      const asTree = (p: string[]) => (o.format === 'table' ? p.join(' | ') : p.join(' -> '));
      if (r.paths_at_level) lines.push(...rows(`topics at level ${o.level}`, r.paths_at_level, (p) => p[0]!));
      if (r.expanded_paths) lines.push(...rows(`below level ${o.level}`, r.expanded_paths, asTree));
      if (r.all_paths) lines.push(...rows('paths', r.all_paths, (p) => asTree(p) + idOf(p)));
      else if (o.uuid) lines.push(...rows('leaf ids', paths, (p) => `${p.at(-1)}${idOf(p)}`));
      process.stdout.write(lines.join('\n') + '\n');
    } catch (err) {
      fail(err);
    }
  });
topic
  .command('prune')
  .argument('<file>', 'graph JSON (DeepFabric 4.13), or tree JSONL')
  .option('-l, --level <n>', 'remove every node deeper than this level (0 = keep only the root, 1 = the root and its children)', intOption('--level', 0))
  .option('-u, --uuid <uuid>', 'remove the node with this uuid and everything below it (graph; topic inspect --uuid lists them)')
  .option('--branch <name>', 'remove this top-level branch (this project)')
  .option('-o, --output <file>', "where to write the result (default: <name>_pruned_level<n>.json or <name>_pruned.json, as DeepFabric's)")
  .option('--out <file>', 'the same as --output')
  .option('-f, --force', 'overwrite the input file')
  .option('--dry-run', 'say what would be removed, write nothing')
  .description("a smaller topic set: a graph's nodes below a level or under a uuid removed (a graph file DeepFabric loads), or a tree cut")
  .action(async (file: string, o: { level?: number; uuid?: string; branch?: string; output?: string; out?: string; force?: boolean; dryRun?: boolean }) => {
    try {
      const ways = [o.level !== undefined, o.uuid !== undefined, o.branch !== undefined].filter(Boolean).length;
      if (ways === 0) throw new ConfigurationError('topic prune: give --level <n>, --uuid <uuid> or --branch <name>');
      if (o.level !== undefined && o.uuid !== undefined) throw new ConfigurationError('topic prune: --level and --uuid do not go together (as in DeepFabric)');
      const model = await topicFile(file);
      const given = o.output ?? o.out;
      if (model instanceof Graph) {
        const before = model.nodes.size;
        let removed: number[];
        if (o.branch !== undefined) {
          const root = model.nodes.get(model.rootId)!;
          const branch = root.children.map((c) => model.nodes.get(c)!).find((n) => n.topic === o.branch);
          if (!branch)
            throw new ConfigurationError(
              `topic prune: no top-level branch "${o.branch}"; branches: ${root.children.map((c) => model.nodes.get(c)!.topic).join(', ')}`,
            );
          removed = model.removeSubtree(branch.id);
        } else if (o.uuid !== undefined) {
          const node = model.findByUuid(o.uuid);
          if (!node) throw new ConfigurationError(`topic prune: no node has uuid ${o.uuid} (topic inspect ${file} --all --uuid lists them)`);
          if (node.id === model.rootId) throw new ConfigurationError('topic prune: --uuid names the root, which cannot be removed');
          removed = model.removeSubtree(node.id);
        } else removed = model.pruneAtLevel(o.level!);
        if (o.level !== undefined && o.branch !== undefined) removed.push(...model.pruneAtLevel(o.level));
        const stem = file.replace(/\.json$/, '');
        const out = path.resolve(
          o.force ? file : (given ?? `${stem}_${o.level !== undefined && o.branch === undefined ? `pruned_level${o.level}` : 'pruned'}.json`),
        );
        const summary = `removed ${removed.length} of ${before} nodes; remaining ${model.nodes.size} nodes, ${model.getAllPaths().length} paths`;
        if (o.dryRun) {
          process.stdout.write(`dry run, nothing written: would have ${summary}\n`);
          return;
        }
        await mkdir(path.dirname(out), { recursive: true });
        await model.save(out);
        process.stdout.write(`${summary}; saved to ${out}\n`);
        return;
      }
      // A tree file (DeepFabric prunes graphs only): its paths cut at a level and/or without a branch, as tree JSONL.
      if (o.uuid !== undefined) throw new ConfigurationError('topic prune --uuid: a tree file has no node uuids; use --level or --branch');
      let pruned: string[][];
      try {
        pruned = prunePaths(model.getAllPaths(), {
          ...(o.level !== undefined ? { level: o.level } : {}),
          ...(o.branch !== undefined ? { branch: o.branch } : {}),
        });
      } catch (err) {
        throw new ConfigurationError(`topic prune: ${(err as Error).message}`);
      }
      const out = path.resolve(o.force ? file : (given ?? `${file.replace(/\.(jsonl|json)$/, '')}.pruned.jsonl`));
      if (o.dryRun) {
        process.stdout.write(`dry run, nothing written: would keep ${pruned.length} of ${model.getAllPaths().length} paths\n`);
        return;
      }
      await mkdir(path.dirname(out), { recursive: true });
      await writeFileAtomic(out, pruned.map((p) => JSON.stringify({ path: p }) + '\n').join(''));
      process.stdout.write(`${pruned.length} of ${model.getAllPaths().length} paths written to ${out}\n`);
    } catch (err) {
      fail(err);
    }
  });

program
  .command('preview')
  .argument('<run-id>')
  .option('-n, --number <n>', 'how many of the latest accepted examples', (v) => parseInt(v, 10), 5)
  .option('--data-dir <dir>', 'storage folder')
  .description("print the latest accepted examples of a run, while it runs or after (read from the run store's shards)")
  .action(async (runId: string, o: { number: number; dataDir?: string }) => {
    try {
      if (!Number.isInteger(o.number) || o.number < 1) throw new ConfigurationError(`--number: expected a positive integer, got ${o.number}`);
      const store = await openStore({ dataDir: path.resolve(o.dataDir ?? defaultDataDir()), url: connectionSettings().storeUrl });
      try {
        const run = store.run(runId);
        const indices = await run.shardIndices();
        if (!indices.length) throw new DataSetGeneratorError(`run ${runId} has no finished batch in ${run.location} yet`, 'no_dataset');
        // The newest batches first, until n records; printed oldest to newest, with their judge scores and flags.
        const picked: { batch: number; record: Record<string, unknown>; note: QualityNote | undefined }[] = [];
        for (const batch of [...indices].reverse()) {
          const { summary, records } = await run.readShard<StoredSummary>(batch);
          for (let i = records.length - 1; i >= 0 && picked.length < o.number; i--)
            picked.push({ batch, record: records[i] as Record<string, unknown>, note: summary.recordQuality?.[i] });
          if (picked.length >= o.number) break;
        }
        process.stdout.write(
          picked
            .reverse()
            .map((p) => formatPreview(p.record, `batch ${p.batch}`, 400, p.note))
            .join('\n\n') + '\n',
        );
      } finally {
        await store.close();
      }
    } catch (err) {
      fail(err);
    }
  });

program
  .command('report')
  .argument('<run-id>')
  .option('--out <file>', 'where to write the page (default <data-dir>/runs/<run-id>/report.html)')
  .option('--data-dir <dir>', 'storage folder')
  .description(
    'write one self-contained HTML page about a run, finished or running: counts, cost and tokens by stage, dropped examples by reason, judge scores, validators, topic coverage, lengths, timeline and a sample',
  )
  .action(async (runId: string, o: { out?: string; dataDir?: string }) => {
    try {
      const dataDir = path.resolve(o.dataDir ?? defaultDataDir());
      const store = await openStore({ dataDir, url: connectionSettings().storeUrl });
      try {
        const { file, data } = await writeReport(store.run(runId), runId, path.resolve(o.out ?? path.join(dataDir, 'runs', runId, 'report.html')));
        process.stdout.write(`report of ${runId} (${data.status}, ${data.records} records) written to ${file}\n`);
      } finally {
        await store.close();
      }
    } catch (err) {
      fail(err);
    }
  });

program
  .command('export')
  .argument('<run-id>')
  .requiredOption('--out <file>', 'where to write the dataset')
  .option('--format <name>', `output format: ${Object.keys(FORMATTERS).join(', ')}`)
  .option(
    '--drop <fields>',
    'fields the format may leave out, comma-separated (e.g. system,reasoning); without it a format that would drop a field refuses',
    (v: string, acc: string[]) => [
      ...acc,
      ...v
        .split(',')
        .map((x) => x.trim())
        .filter(Boolean),
    ],
    [] as string[],
  )
  .option('--data-dir <dir>', 'storage folder')
  .description("write a run's dataset (complete or partial) in a chosen format")
  .action(async (runId: string, o: { out: string; format?: string; drop: string[]; dataDir?: string }) => {
    try {
      if (o.format && !FORMATTERS[o.format])
        throw new ConfigurationError(`--format: unknown format "${o.format}"; known formats: ${Object.keys(FORMATTERS).join(', ')}`);
      const file = path.join(path.resolve(o.dataDir ?? defaultDataDir()), 'runs', runId, 'dataset.jsonl');
      const ds = await Dataset.load(file).catch((err: NodeJS.ErrnoException) => {
        throw new DataSetGeneratorError(
          err.code === 'ENOENT' ? `run ${runId} has no dataset at ${file} yet (it is assembled when the run ends, stops or is cancelled)` : err.message,
          'no_dataset',
        );
      });
      if (o.drop.length && !o.format) throw new ConfigurationError('--drop: only with --format (without a format the records are written whole)');
      await ds.save(path.resolve(o.out), o.format ? { format: o.format, drop: o.drop } : {});
      process.stdout.write(`${ds.length} records written to ${path.resolve(o.out)}\n`);
    } catch (err) {
      fail(err);
    }
  });

/** `runs list`, and DeepFabric's `checkpoint-status` (here every batch is a checkpoint: the runs and their progress are the answer). */
async function listRuns(o: { dataDir?: string }, lead = ''): Promise<void> {
  try {
    if (lead) process.stdout.write(lead);
    const c = await controlClient(o.dataDir);
    // One row per run: its executions (continue-as-new segments, a rerun of the same id) show the newest.
    const newest = new Map<string, { row: RunRow; start: number; release: string | undefined }>();
    for await (const wf of c.ctx.client.workflow.list({ query: `WorkflowType = 'datasetRunWorkflow'` })) {
      const memo = (wf.memo ?? {}) as { release?: string; model?: string; progress?: { accepted: number; target: number; status?: string } };
      const status =
        wf.status.name === 'RUNNING'
          ? 'running'
          : memo.progress?.status && memo.progress.status !== 'running'
            ? memo.progress.status
            : wf.status.name.toLowerCase();
      const start = wf.startTime.getTime();
      if ((newest.get(wf.workflowId)?.start ?? -1) >= start) continue;
      newest.set(wf.workflowId, {
        start,
        release: wf.status.name === 'RUNNING' ? (memo.release ?? 'an earlier build') : packageVersion(),
        row: {
          runId: wf.workflowId,
          status,
          model: memo.model ?? '',
          progress: memo.progress ? `${memo.progress.accepted}/${memo.progress.target}` : '',
          started: localTime(wf.startTime),
        },
      });
    }
    const sorted = [...newest.values()].sort((a, b) => b.start - a.start);
    const rows = sorted.map((r) => r.row);
    process.stdout.write(`${rows.length ? formatRunsTable(rows) : 'no dataset runs yet'}\n${olderReleaseNote(sorted, packageVersion())}${c.where}\n`);
    await c.close();
  } catch (err) {
    fail(err);
  }
}

program
  .command('runs')
  .argument('[action]', 'list', 'list')
  .option('--data-dir <dir>', 'storage folder (embedded mode)')
  .description('list dataset runs with their progress')
  .action((_action: string, o: { dataDir?: string }) => listRuns(o));

program
  .command('checkpoint-status')
  .argument('[config]', "DeepFabric's config argument (accepted; every run of the data folder is listed)")
  .option('--data-dir <dir>', 'storage folder (embedded mode)')
  .description("DeepFabric's checkpoint-status: here every batch is a checkpoint; the runs with their progress (the same generate command resumes one)")
  .action((_config: string | undefined, o: { dataDir?: string }) =>
    listRuns(o, 'every finished batch is a checkpoint in the run store; an interrupted run resumes with the same generate command\n'),
  );

// DeepFabric 4.13 verbs that are not built here: said plainly, exit 2, never a silent no-op.
for (const [verb, what] of [
  ['evaluate', 'model evaluation (DeepFabric evaluate) is not built here'],
  ['upload-kaggle', 'Kaggle upload is not built here; upload-hf pushes to the Hugging Face Hub'],
  ['import-tools', 'importing tools from an MCP server is not built here; list them under generation.tools (tools_endpoint reads MCP tools/list)'],
] as const) {
  program
    .command(verb)
    .allowUnknownOption()
    .allowExcessArguments()
    .description(`DeepFabric's ${verb}: not built here (exits 2)`)
    .action(() => {
      process.stderr.write(`error: ${what}\n`);
      process.exit(2);
    });
}

program
  .command('server')
  .option('--data-dir <dir>', 'storage folder')
  .description("keep the data folder's embedded Temporal server and UI up until Ctrl-C (runs stay visible)")
  .action(async (o: { dataDir?: string }) => {
    try {
      const lease = await SharedServerLease.acquire(path.join(path.resolve(o.dataDir ?? defaultDataDir()), 'temporal'));
      process.stdout.write(`Temporal at ${lease.address}, UI at ${lease.uiUrl}; Ctrl-C to let it stop (it stays up while a generate uses it)\n`);
      // A pending promise does not keep Node alive: a timer does, until Ctrl-C.
      const keepAlive = setInterval(() => undefined, 1 << 30);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      clearInterval(keepAlive);
      await lease.release();
      process.exit(0);
    } catch (err) {
      fail(err);
    }
  });
