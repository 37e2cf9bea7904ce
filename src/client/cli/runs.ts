/** The other commands: info, visualize, worker, status, pause, resume, stop, cancel, topic inspect/prune, preview, export, runs, server. */
import { control, controlClient, fail, packageVersion, program } from './common';
import path from 'node:path';
import { PROVIDERS } from '../../config/model-spec';
import { Dataset } from '../../dataset/dataset';
import { FORMATTERS } from '../../dataset/formatters';
import { ConfigurationError, DataSetGeneratorError } from '../../errors';
import { SharedServerLease } from '../../worker/shared-server';
import { createWorker } from '../../worker/worker';
import { loadTopicModel } from '../../topics/topic-model-file';
import { inspectTopics, prunePaths } from '../../topics/topic-tools';
import { DEFAULT_TASK_QUEUE } from '../../worker/paths';
import { defaultDataDir } from '../run-builder';
import { formatEnded, formatPreview, formatRunsTable, formatStatus, type RunRow } from '../status-format';
import { writeFileAtomic } from '../../storage/run-store';
import { openStore } from '../../storage/store';

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
      `run store: ${process.env.DEEPFABRIC_STORE ? 'PostgreSQL (DEEPFABRIC_STORE)' : 'the data folder'}`,
      `Temporal: ${process.env.TEMPORAL_ADDRESS ? `cluster at ${process.env.TEMPORAL_ADDRESS}` : 'embedded dev server (TEMPORAL_ADDRESS unset)'}`,
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
  .option('--task-queue <name>', 'task queue', process.env.DEEPFABRIC_TASK_QUEUE ?? DEFAULT_TASK_QUEUE)
  .option('--max-concurrent <n>', 'batch activities at once', (v) => parseInt(v, 10), 200)
  .action(async (o: { taskQueue: string; maxConcurrent: number }) => {
    try {
      const address = process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233';
      const { worker } = await createWorker({
        address,
        namespace: process.env.TEMPORAL_NAMESPACE ?? 'default',
        taskQueue: o.taskQueue,
        maxConcurrentActivities: o.maxConcurrent,
        ...(process.env.TEMPORAL_API_KEY ? { apiKey: process.env.TEMPORAL_API_KEY } : {}),
        ...(process.env.TEMPORAL_TLS === 'true' ? { tls: true } : {}),
      });
      process.stderr.write(`worker polling ${o.taskQueue} at ${address}\n`);
      await worker.run();
    } catch (err) {
      fail(err);
    }
  });

control('status', 'progress, rate, ETA, tokens and errors of a run (--json for scripts)', async (run, json) => {
  const described = await run.handle.describe();
  // A query runs workflow code on a worker; an ended run needs none: its memo holds the progress.
  if (described.status.name === 'RUNNING') {
    const stats = await run.stats();
    return json ? stats : formatStatus(stats);
  }
  const ended = {
    runId: run.runId,
    temporalStatus: described.status.name,
    closedAt: described.closeTime?.toISOString(),
    ...((described.memo ?? {}) as { progress?: { accepted?: number; target?: number; status?: string }; model?: string }),
  };
  return json ? ended : formatEnded(ended);
});
control('pause', 'start no new batches (in-flight ones finish)', async (run) => (await run.pause(), `paused ${run.runId}`));
control('resume', 'resume a paused run', async (run) => (await run.resume(), `resumed ${run.runId}`));
const partialNote = (runId: string) =>
  `its records so far are assembled into runs/${runId}/dataset.jsonl in the data folder; deepfabric export ${runId} --out <file> writes them in any format`;
control(
  'stop',
  'stop gracefully: finish in-flight batches, assemble the partial dataset',
  async (run) => (await run.stop(), `stopping ${run.runId}: ${partialNote(run.runId)}`),
);
control(
  'cancel',
  'cancel in-flight batches and assemble the partial dataset',
  async (run) => (await run.cancel(), `cancelling ${run.runId}: ${partialNote(run.runId)}`),
);

const topic = program.command('topic').description('inspect or prune a topic file (tree JSONL or graph JSON)');
topic
  .command('inspect')
  .argument('<file>', 'tree JSONL or graph JSON')
  .option('--paths', 'print every path too')
  .description('paths, depth, topics per level and leaves per top-level branch')
  .action(async (file: string, o: { paths?: boolean }) => {
    try {
      const model = await topicFile(file);
      const paths = model.getAllPaths();
      const r = inspectTopics(paths);
      const lines = [
        `${file}: ${r.paths} paths, depth ${r.maxDepth}`,
        `topics per level: ${r.perLevel.map((n, i) => `${i}: ${n}`).join(', ')}`,
        'paths per top-level branch:',
        ...r.branches.map(([b, n]) => `  ${String(n).padStart(6)}  ${b}`),
        ...(o.paths ? ['paths:', ...paths.map((p) => `  ${p.join(' -> ')}`)] : []),
      ];
      process.stdout.write(lines.join('\n') + '\n');
    } catch (err) {
      fail(err);
    }
  });
topic
  .command('prune')
  .argument('<file>', 'tree JSONL or graph JSON')
  .option('--level <n>', "cut every path at this depth (1 = the root's children)", (v) => Number(v))
  .option('--branch <name>', 'drop this top-level branch')
  .option('--out <file>', 'where to write the pruned paths (tree JSONL; default <file>.pruned.jsonl)')
  .description('a smaller topic set: cut at a level and/or without a branch, written as tree JSONL')
  .action(async (file: string, o: { level?: number; branch?: string; out?: string }) => {
    try {
      if (o.level === undefined && o.branch === undefined) throw new ConfigurationError('topic prune: give --level <n>, --branch <name>, or both');
      const model = await topicFile(file);
      let pruned: string[][];
      try {
        pruned = prunePaths(model.getAllPaths(), {
          ...(o.level !== undefined ? { level: o.level } : {}),
          ...(o.branch !== undefined ? { branch: o.branch } : {}),
        });
      } catch (err) {
        throw new ConfigurationError(`topic prune: ${(err as Error).message}`);
      }
      const out = path.resolve(o.out ?? `${file.replace(/\.(jsonl|json)$/, '')}.pruned.jsonl`);
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
      const store = await openStore({ dataDir: path.resolve(o.dataDir ?? defaultDataDir()), url: process.env.DEEPFABRIC_STORE });
      try {
        const run = store.run(runId);
        const indices = await run.shardIndices();
        if (!indices.length) throw new DataSetGeneratorError(`run ${runId} has no finished batch in ${run.location} yet`, 'no_dataset');
        // The newest batches first, until n records; printed oldest to newest.
        const picked: { batch: number; record: Record<string, unknown> }[] = [];
        for (const batch of [...indices].reverse()) {
          const { records } = await run.readShard(batch);
          for (const record of [...records].reverse()) if (picked.length < o.number) picked.push({ batch, record: record as Record<string, unknown> });
          if (picked.length >= o.number) break;
        }
        process.stdout.write(
          picked
            .reverse()
            .map((p) => formatPreview(p.record, `batch ${p.batch}`))
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
  .command('export')
  .argument('<run-id>')
  .requiredOption('--out <file>', 'where to write the dataset')
  .option('--format <name>', `output format: ${Object.keys(FORMATTERS).join(', ')}`)
  .option('--data-dir <dir>', 'storage folder')
  .description("write a run's dataset (complete or partial) in a chosen format")
  .action(async (runId: string, o: { out: string; format?: string; dataDir?: string }) => {
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
      await ds.save(path.resolve(o.out), o.format ? { format: o.format } : {});
      process.stdout.write(`${ds.length} records written to ${path.resolve(o.out)}\n`);
    } catch (err) {
      fail(err);
    }
  });

program
  .command('runs')
  .argument('[action]', 'list', 'list')
  .option('--data-dir <dir>', 'storage folder (embedded mode)')
  .description('list dataset runs with their progress')
  .action(async (_action: string, o: { dataDir?: string }) => {
    try {
      const { client, close } = await controlClient(o.dataDir);
      const rows: RunRow[] = [];
      for await (const wf of client.workflow.list({ query: `WorkflowType = 'datasetRunWorkflow'` })) {
        const memo = (wf.memo ?? {}) as { model?: string; progress?: { accepted: number; target: number; status?: string } };
        const status =
          wf.status.name === 'RUNNING'
            ? 'running'
            : memo.progress?.status && memo.progress.status !== 'running'
              ? memo.progress.status
              : wf.status.name.toLowerCase();
        rows.push({
          runId: wf.workflowId,
          status,
          model: memo.model ?? '',
          progress: memo.progress ? `${memo.progress.accepted}/${memo.progress.target}` : '',
          started: wf.startTime.toISOString().replace('T', ' ').slice(0, 19),
        });
      }
      process.stdout.write(rows.length ? `${formatRunsTable(rows)}\n` : 'no dataset runs yet\n');
      await close();
    } catch (err) {
      fail(err);
    }
  });

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
