/** `validate`, `generate`, `topics`: the commands that read a YAML config (and what they share: checks, the progress bar, topic builds). */
import { writeReport } from '../report';
import { openStore } from '../../storage/open-store';
import { closing, fail, logSink, logToFile, program } from './common';
import { checkedGenerator, checkGenerate, confineOutputs } from './preflight';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { formatModel, parseModelName } from '../../config/model-spec';
import { DEFAULT_BATCHES_PER_SLICE } from '../../config/generator-options';
import { ProviderFactory } from '../../llm/provider-factory';
import { loadYamlConfig, resolveNumSamples, type GenerateOverrides, type YamlConfig } from '../../config/yaml-config';
import { Dataset } from '../../dataset/dataset';
import { ConfigurationError, DataSetGeneratorError } from '../../errors';
import { loadTopicModel } from '../../topics/topic-model-file';
import { Graph } from '../../topics/graph';
import type { Tree } from '../../topics/tree';
import type { GenerationStats } from '../../workflows/stats';
import { DataSetGenerator } from '../data-set-generator';
import { defaultDataDir } from '../run-builder';
import { RunHandle } from '../run-handle';
import { incompleteRunError } from '../run-outcome';
import { ActiveRate, notableEvents, progressLine, RetryDigest } from '../status-format';
import { buildTopics } from '../topic-builder';
import { pushAfterRun } from './upload';
import { connectionSettings } from '../../config/connection';

/** `out/data.jsonl` -> `out/data.partial.jsonl`: where a run that did not complete leaves its records. */
function partialPath(file: string): string {
  const ext = path.extname(file);
  return `${file.slice(0, file.length - ext.length)}.partial${ext || '.jsonl'}`;
}

type TopicModel = Tree | Graph;

/** How the dataset file is written: `output.format`, less the fields `output.drop` lets it leave out. */
const saveOptions = (cfg: YamlConfig) => (cfg.output.format ? { format: cfg.output.format, drop: cfg.output.drop ?? [] } : {});

/** Copies a run's partial dataset to `<save_as>.partial.jsonl` (when there is one) and says so. */
async function keepPartial(cfg: YamlConfig, datasetPath: string): Promise<void> {
  if (!cfg.output.save_as || !existsSync(datasetPath)) return;
  const out = partialPath(path.resolve(cfg.output.save_as));
  const ds = await Dataset.load(datasetPath);
  await ds.save(out, saveOptions(cfg));
  const kept = existsSync(path.resolve(cfg.output.save_as)) ? 'was left as it was' : 'was not written (the run did not complete)';
  process.stderr.write(`${cfg.output.save_as} ${kept}; the run's ${ds.length} records are in ${out}\n`);
}

/** After a complete save_as: the `.partial` file an earlier failed or refused run left beside it is out of date. */
async function removeStalePartial(cfg: YamlConfig): Promise<void> {
  if (cfg.output.save_as) await rm(partialPath(path.resolve(cfg.output.save_as)), { force: true });
}

/** Topic build options from the YAML's `topics` section and its model (`topics.llm` over `llm`). */
function topicOptions(cfg: YamlConfig) {
  const llm = cfg.topicsLlm ?? cfg.llm;
  return {
    rootPrompt: cfg.topics.prompt!,
    mode: cfg.topics.mode,
    depth: cfg.topics.depth,
    degree: cfg.topics.degree,
    modelName: llm.model,
    ...(llm.provider ? { provider: llm.provider } : {}),
    ...(llm.base_url ? { baseUrl: llm.base_url } : {}),
    temperature: llm.temperature,
    ...(llm.max_tokens ? { maxTokens: llm.max_tokens } : {}),
    // DeepFabric's default topic system prompt is empty; an empty one keeps this tool's default.
    ...(cfg.topics.system_prompt ? { systemPrompt: cfg.topics.system_prompt } : {}),
    ...(cfg.topics.concurrency ? { concurrency: cfg.topics.concurrency } : {}),
    ...(cfg.topics.save_as ? { saveAs: cfg.topics.save_as } : {}),
  };
}

/**
 * The run's topics from the config: a tree's paths; a graph's nodes but the root (DeepFabric 4.x:
 * examples go to the nodes in node order, each record's topic id the node's uuid), or its paths with
 * `topics.graph_sampling: paths`. `count` is what `num_samples: auto` and percentages count: the
 * root-to-leaf paths, as DeepFabric 4.13 resolves them, even when the examples go to nodes.
 */
async function topicsFromConfig(
  cfg: YamlConfig,
  gen: DataSetGenerator,
): Promise<{ args: { topics: string[][] } | { topicModel: TopicModel; graphSampling: 'nodes' | 'paths' }; count: number; nodes?: number }> {
  if (cfg.topics.paths) return { args: { topics: cfg.topics.paths }, count: cfg.topics.paths.length };
  let model: TopicModel;
  if (cfg.topics.load_from) {
    const file = path.resolve(cfg.topics.load_from);
    model = await loadTopicModel(file).catch((err: NodeJS.ErrnoException) => {
      throw new ConfigurationError(
        err.code === 'ENOENT' ? `topics.load_from: ${cfg.topics.load_from} does not exist (resolved to ${file})` : `topics.load_from: ${err.message}`,
      );
    });
  } else {
    process.stderr.write(`building a topic ${cfg.topics.mode} from "${cfg.topics.prompt}" (depth ${cfg.topics.depth}, degree ${cfg.topics.degree}) ...\n`);
    model = await gen.buildTopics(topicOptions(cfg));
  }
  const nodes = model instanceof Graph && cfg.topics.graph_sampling === 'nodes' ? model.uniqueTopics().length : undefined;
  const count = model.getAllPaths().length;
  if (!cfg.topics.load_from) process.stderr.write(`topic ${cfg.topics.mode}: ${count} paths${nodes !== undefined ? `, ${nodes} topic nodes` : ''}\n`);
  return { args: { topicModel: model, graphSampling: cfg.topics.graph_sampling }, count, ...(nodes !== undefined ? { nodes } : {}) };
}

/**
 * A one-line bar redrawn in place (`\r` + clear line), with event lines printed above it. Drawn by
 * hand, not with cli-progress: its SingleBar saves the cursor position at start and restores it at
 * stop, so once event lines had scrolled the screen the final summary was drawn over older lines
 * mid-screen; it also turns line wrapping off, which cut the Ctrl-C line at 80 columns.
 */
class LineBar {
  private text = '';
  constructor(private readonly stream: NodeJS.WriteStream) {}
  draw(text: string): void {
    this.text = text;
    this.stream.write(`\r\x1b[2K${text}`);
  }
  /** A line above the bar: the bar is cleared, the line printed, the bar drawn again below it. */
  say(line: string): void {
    this.stream.write(`\r\x1b[2K${line}\n`);
    if (this.text) this.stream.write(this.text);
  }
  /** Leaves the last bar on its own line; what follows starts on a fresh one. */
  end(): void {
    if (this.text) this.stream.write('\n');
    this.text = '';
  }
}

/**
 * Polls the stats query and shows a bar on a terminal (fitted to its width: 80 columns keep the
 * count, rate and ETA), a line every few seconds elsewhere; notable events print one line each
 * above the bar, retried calls one line a minute at most. The rate is measured over active time
 * (not while paused or disconnected).
 */
function watch(run: RunHandle, target: number): { stop(): Promise<void>; say(line: string): void } {
  const tty = process.stderr.isTTY;
  const columns = () => (tty ? process.stderr.columns || 80 : 120);
  const bar = tty ? new LineBar(process.stderr) : undefined;
  const drawBar = (accepted: number, line: string) => {
    const width = Math.max(10, Math.min(30, columns() - 55));
    const filled = Math.round((Math.min(accepted, target) / Math.max(target, 1)) * width);
    const pct = Math.floor((Math.min(accepted, target) * 100) / Math.max(target, 1));
    bar!.draw(`${'█'.repeat(filled)}${'░'.repeat(width - filled)} ${pct}% | ${line}`.slice(0, columns() - 1));
  };
  if (bar) drawBar(0, 'starting');
  const rate = new ActiveRate();
  const retries = new RetryDigest();
  let prev: GenerationStats | undefined;
  let last = 0;
  const say = (line: string) => (bar ? bar.say(line) : process.stderr.write(`${line}\n`));
  // One stats query at a time, and none left in flight when the command closes its connection.
  let inflight: Promise<void> | undefined;
  const timer = setInterval(
    () => {
      if (inflight) return;
      inflight = run
        .stats()
        .then((s) => {
          rate.sample(Date.now(), s.accepted, s.status === 'running' && !s.paused);
          for (const e of notableEvents(prev, s)) say(e);
          const retried = retries.add(prev, s, Date.now());
          if (retried) say(retried);
          prev = s;
          const line = progressLine(s, rate.perSecond(), tty ? columns() - 45 : 200);
          if (bar) drawBar(s.accepted, line);
          else if (Date.now() - last > 5000) {
            last = Date.now();
            say(line);
          }
        })
        .catch(() => rate.sample(Date.now(), prev?.accepted ?? 0, false))
        .finally(() => (inflight = undefined));
    },
    tty ? 500 : 1000,
  );
  let stopped = false;
  return {
    say,
    async stop() {
      if (!stopped) {
        stopped = true;
        clearInterval(timer);
      }
      await inflight;
      bar?.end();
    },
  };
}

/** One cheap structured call to a stage's model, with the keys of this process's environment. */
async function checkApi(stage: string, llm: YamlConfig['llm']): Promise<string> {
  const spec = parseModelName(llm.model, llm.provider, llm.base_url);
  if (!spec.ok) return `${stage}: ${spec.error}`;
  try {
    const r = await new ProviderFactory(process.env).get(spec.spec).generate({
      system: 'You answer with JSON only.',
      prompt: 'Answer {"ok": true}.',
      jsonSchema: { type: 'object', properties: { ok: { type: 'boolean' } }, required: ['ok'], additionalProperties: false },
      schemaName: 'ping',
      temperature: 0,
      maxTokens: 16,
      timeoutMs: 30_000,
    });
    return `${stage}: ${formatModel(spec.spec)} answered (${r.usage.inputTokens + r.usage.outputTokens} tokens)`;
  } catch (err) {
    throw new DataSetGeneratorError(`${stage}: ${formatModel(spec.spec)}: ${(err as Error).message}`, 'api_check_failed');
  }
}

program
  .command('validate')
  .argument('<config>', 'YAML config to check')
  .option('--check-api', "make one cheap call to each stage's model with this process's keys (the default, as in DeepFabric)")
  .option('--no-check-api', 'check the file only: no model call')
  .option('--data-dir <dir>', 'storage folder')
  .description('check a config without starting a run: every problem generate would refuse, what it would run, and one cheap call per stage model')
  .action(async (configFile: string, o: { checkApi?: boolean; dataDir?: string }) => {
    try {
      const cfg = await loadYamlConfig(configFile);
      for (const w of cfg.warnings) process.stderr.write(`warning: ${w}\n`);
      const gen = checkedGenerator(cfg, configFile, path.resolve(o.dataDir ?? defaultDataDir()));
      const t = cfg.topics;
      const topics = t.paths
        ? `${t.paths.length} inline paths`
        : t.load_from
          ? `loaded from ${t.load_from}`
          : `a ${t.mode} built from "${t.prompt}" (depth ${t.depth}, degree ${t.degree})`;
      const lines = [
        `${configFile} is valid`,
        `  topics: ${topics}${cfg.topicsLlm ? ` with ${cfg.topicsLlm.model}` : ''}`,
        `  generation: ${cfg.generation.output_schema ? 'custom (generation.output_schema)' : cfg.generation.conversation.type} examples with ${cfg.llm.model}, ${cfg.output.samples_per_call} per call, ${cfg.generation.calls_per_batch ?? 'default'} calls per batch, ${cfg.generation.batches_per_slice ?? DEFAULT_BATCHES_PER_SLICE} batches per slice`,
        `  output: ${cfg.output.num_samples} examples${cfg.output.save_as ? ` to ${cfg.output.save_as}` : ''}${cfg.output.format ? ` as ${cfg.output.format}` : ''}`,
      ];
      const q = cfg.quality;
      if (q?.judge || q?.validators?.length)
        lines.push(
          `  quality: ${[
            ...(q.judge ? [`judge ${q.judge.modelName ?? cfg.llm.model} on ${q.judge.rubric.map((r) => r.name).join(', ')}`] : []),
            ...(q.validators?.length ? [`validators ${q.validators.map((v) => v.name ?? v.type).join(', ')}`] : []),
          ].join('; ')}`,
        );
      const problems = gen.validateConfiguration().filter((p) => p.startsWith('apiKey:'));
      for (const p of problems) lines.push(`  note: ${p}`);
      if (o.checkApi !== false) {
        lines.push(`  ${await checkApi('generation', cfg.llm)}`);
        if (cfg.topicsLlm && cfg.topicsLlm.model !== cfg.llm.model) lines.push(`  ${await checkApi('topics', cfg.topicsLlm)}`);
      }
      process.stdout.write(lines.join('\n') + '\n');
      process.exit(0);
    } catch (err) {
      fail(err);
    }
  });

/** DeepFabric 4.13 `generate` flags that change nothing here, or only the logging. */
interface DeepFabricOnlyFlags {
  agentMode?: string;
  tui?: string;
  debug?: boolean;
  resume?: boolean;
  retryFailed?: boolean;
  checkpointInterval?: string;
  checkpointPath?: string;
  cloudUpload?: string;
}

/** Checks DeepFabric's flags and says once what each accepted one does here (a script that passes them runs unchanged). */
function deepFabricFlags(o: DeepFabricOnlyFlags): void {
  const bad: string[] = [];
  if (o.agentMode !== undefined && o.agentMode !== 'single_turn')
    bad.push(
      `--agent-mode: ${o.agentMode === 'multi_turn' ? 'multi_turn is no longer supported (as in DeepFabric 4.13)' : `expected single_turn, got "${o.agentMode}"`}`,
    );
  if (o.tui !== undefined && o.tui !== 'rich' && o.tui !== 'simple') bad.push(`--tui: expected rich or simple, got "${o.tui}"`);
  if (o.checkpointInterval !== undefined && !(Number.isInteger(Number(o.checkpointInterval)) && Number(o.checkpointInterval) >= 1))
    bad.push(`--checkpoint-interval: expected a positive integer, got "${o.checkpointInterval}"`);
  if (o.cloudUpload !== undefined && !['all', 'dataset', 'graph', 'none'].includes(o.cloudUpload.toLowerCase()))
    bad.push(`--cloud-upload: expected all, dataset, graph or none, got "${o.cloudUpload}"`);
  if (bad.length) throw new ConfigurationError(`bad flag${bad.length > 1 ? 's' : ''}:\n  ${bad.join('\n  ')}`, bad);
  if (o.debug) process.env.DEEPFABRIC_LOG_LEVEL = 'debug';
  const notes: string[] = [];
  if (o.checkpointInterval !== undefined || o.checkpointPath !== undefined) notes.push('--checkpoint-*: every batch is a checkpoint in the run store here');
  if (o.cloudUpload !== undefined && o.cloudUpload.toLowerCase() !== 'none') notes.push('--cloud-upload: no DeepFabric Cloud upload here; nothing is uploaded');
  for (const n of notes) process.stderr.write(`note: ${n}\n`);
}

program
  .command('generate')
  .argument('<config>', 'YAML config (sections llm, topics, generation, output)')
  .option('--data-dir <dir>', 'run storage folder', undefined)
  .option('--run-id <id>', 'explicit run id (re-attaches to an existing run)')
  .option('--replace', 'stop a running run of the same name with other dataset settings (its partial data is kept) and start this one')
  // DeepFabric's overrides: the flags win over the file.
  .option('--provider <name>', 'override llm.provider (every stage)')
  .option('--model <name>', 'override llm.model (every stage), e.g. openai/gpt-4o-mini')
  .option('--temperature <t>', 'override llm.temperature')
  .option('--base-url <url>', 'override llm.base_url')
  .option('--num-samples <n>', 'override output.num_samples (a count, auto or a percentage of the topic paths)')
  .option('--batch-size <n>', "override output.batch_size (DeepFabric's meaning: parallel calls, here calls per batch)")
  .option('--samples-per-call <n>', 'override output.samples_per_call (examples asked for in one call)')
  .option('--topics-load <file>', 'use this topic file (tree JSONL or graph JSON) instead of building topics')
  .option('--topic-only', 'build (or load) the topics, save them, and stop')
  .option('--mode <tree|graph>', 'override topics.mode')
  .option('--depth <n>', 'override topics.depth')
  .option('--degree <n>', 'override topics.degree')
  .option('--topics-save-as <file>', 'override topics.save_as')
  .option('--output-save-as <file>', 'override output.save_as')
  .option('--call-mode <live|batch>', "override generation.call_mode: batch sends the calls through the provider's batch API (half price, within 24 h)")
  // DeepFabric 4.13's other generate flags, with their meanings (scripts written for it run unchanged).
  .option('--topic-prompt <text>', 'override topics.prompt')
  .option('--topics-system-prompt <text>', 'override topics.system_prompt')
  .option('--generation-system-prompt <text>', 'override generation.system_prompt')
  .option('--output-system-prompt <text>', "override output.system_prompt (the records' system message)")
  .option('--include-system-message', 'write the system message into each record (output.include_system_message true)')
  .option('--no-system-message', 'leave the system message out of the records (output.include_system_message false)')
  .option('--conversation-type <basic|cot>', 'override generation.conversation.type')
  .option('--reasoning-style <freetext|agent>', 'override generation.conversation.reasoning_style')
  .option('--agent-mode <single_turn>', "DeepFabric's deprecated flag: agent examples are single_turn; multi_turn is refused, as in DeepFabric")
  .option('--tui <rich|simple>', 'accepted: the progress here is one line either way (rich and simple alike)')
  .option('--debug', 'the SDK and worker log everything (DEEPFABRIC_LOG_LEVEL=debug), on stderr')
  .option('--resume', 'accepted: the same command always resumes an interrupted run of the same dataset')
  .option('--retry-failed', 'accepted: failed batches are retried by the run itself')
  .option('--checkpoint-interval <n>', 'accepted: every batch is a checkpoint here')
  .option('--checkpoint-path <dir>', 'accepted: checkpoints live in the run store (--data-dir or DEEPFABRIC_STORE)')
  .option('--cloud-upload <what>', 'accepted: there is no DeepFabric Cloud upload here (none is the only effect)')
  .description('generate a dataset (starts a dev server and worker when TEMPORAL_ADDRESS is not set)')
  .action(
    async (configFile: string, o: { dataDir?: string; runId?: string; replace?: boolean; topicOnly?: boolean } & GenerateOverrides & DeepFabricOnlyFlags) => {
      let gen: DataSetGenerator | undefined;
      try {
        deepFabricFlags(o);
        const patience = outagePatience();
        const dataDir = path.resolve(o.dataDir ?? defaultDataDir());
        const checked = await checkGenerate(configFile, o, dataDir);
        const cfg = checked.cfg;
        gen = checked.gen;
        for (const w of cfg.warnings) process.stderr.write(`warning: ${w}\n`);
        const g = cfg.generation;
        if (!connectionSettings().cluster && !o.debug) logToFile(dataDir);
        const topicArgs = await topicsFromConfig(cfg, gen);
        if (o.topicOnly) {
          process.stdout.write(
            `topics: ${topicArgs.count} paths${topicArgs.nodes !== undefined ? `, ${topicArgs.nodes} topic nodes` : ''}${cfg.topics.save_as ? ` in ${path.resolve(cfg.topics.save_as)}` : ''} (--topic-only: no dataset generated)\n`,
          );
          await gen.close();
          process.exit(0);
        }
        const numSamples = resolveNumSamples(cfg.output.num_samples, topicArgs.count);
        if (typeof cfg.output.num_samples !== 'number')
          process.stderr.write(
            `num_samples ${cfg.output.num_samples}: ${numSamples} examples (of ${topicArgs.count} root-to-leaf paths, as DeepFabric counts${
              topicArgs.nodes !== undefined ? `; they go to the graph's ${topicArgs.nodes} topic nodes in node order` : ''
            })\n`,
          );
        const run = await gen.startData({
          numSteps: numSamples,
          batchSize: cfg.output.samples_per_call,
          sysMsg: g.sys_msg,
          samplingStrategy: g.sampling,
          ...topicArgs.args,
          ...(cfg.run.name ? { runName: cfg.run.name } : { runName: path.basename(configFile).replace(/\.ya?ml$/, '') }),
          ...((o.runId ?? cfg.run.id) ? { runId: (o.runId ?? cfg.run.id)! } : {}),
          ...(o.replace ? { replace: true } : {}),
        });
        const info = await gen.temporalInfo();
        const folder = info.mode === 'embedded' ? `, data folder ${dataDir}` : '';
        process.stderr.write(`run ${run.runId} (${info.mode} Temporal at ${info.address}${folder})\n`);
        if (info.foreign) process.stderr.write(`note: ${info.foreign}\n`);
        if (run.origin === 'finished') {
          // A completed run of the same dataset: nothing is generated or paid; its records are written out again.
          const result = await run.result();
          const out = cfg.output.save_as ? path.resolve(cfg.output.save_as) : result.datasetPath;
          if (cfg.output.save_as) await (await Dataset.load(result.datasetPath)).save(out, saveOptions(cfg));
          await removeStalePartial(cfg);
          const s = result.stats;
          process.stdout.write(
            `nothing generated: run ${run.runId} had already completed these ${result.records} records; written to ${out}\n` +
              `  that run spent tokens in/out ${s.inputTokens}/${s.outputTokens}${s.costUsd !== undefined ? `, estimated cost $${s.costUsd.toFixed(4)}` : ''}; this command spent nothing\n` +
              `  (change the config, or pass --run-id, to generate a new dataset)\n`,
          );
          closing.now = true;
          await gen.close();
          process.exit(0);
        }
        if (run.origin === 'resumed') {
          const memo = ((await run.handle.describe()).memo ?? {}) as { progress?: { accepted?: number; target?: number } };
          process.stderr.write(
            `resuming run ${run.runId}${memo.progress ? ` at ${memo.progress.accepted ?? 0}/${memo.progress.target}` : ''} (interrupted earlier: finished batches are not paid again)\n`,
          );
        }
        if (info.uiUrl)
          process.stderr.write(
            `watch it in the Temporal UI while this command runs (later: deepfabric server): ${info.uiUrl}/namespaces/${info.namespace}/workflows/${run.runId}\n`,
          );
        process.stderr.write(`run folder: ${run.runDir}\n`);
        if (logSink.path) process.stderr.write(`worker log (retries, warnings): ${logSink.path}\n`);
        // Ctrl-C: one line, and the lease on the embedded server is released (the run itself is kept).
        let interrupting = false;
        const interrupted = () => {
          interrupting = true;
          closing.now = true;
          const atProvider = cfg.generation.call_mode === 'batch' ? '; its provider batches go on at the provider, and the same command collects them' : '';
          watcher.say(`interrupted: run ${run.runId} keeps its progress${atProvider}; run the same command again to resume it`);
          void gen!.close().finally(() => process.exit(130));
        };
        const watcher = watch(run, numSamples);
        const stop = () => watcher.stop();
        process.once('SIGINT', interrupted);
        process.once('SIGTERM', interrupted);
        let result;
        try {
          result = await run.result({
            // A cluster's frontend comes back (restarts, deploys): wait for it. The embedded server is this
            // folder's own process: if it is gone, say so soon (deepfabric server, or the same command, starts it).
            // DEEPFABRIC_OUTAGE_PATIENCE (seconds) sets it, for operators whose outages are longer (or scripts that would rather re-attach).
            patienceMs: patience ?? (info.mode === 'embedded' ? 30_000 : 30 * 60_000),
            onLost: (err) =>
              watcher.say(
                `lost the connection to Temporal (${(err as Error).message.slice(0, 120)}): waiting for it; the run goes on on the server, and Ctrl-C keeps its progress`,
              ),
            onBack: () => watcher.say('connection to Temporal back'),
          });
        } catch (err) {
          // Ctrl-C closed the connection under the wait: the interrupt decides the exit (130), not this.
          if (interrupting) await new Promise(() => undefined);
          // A failed or cancelled run still assembled what it had: keep it beside save_as, never over it.
          await stop();
          await keepPartial(cfg, (err as { datasetPath?: string }).datasetPath ?? path.join(run.runDir!, 'dataset.jsonl'));
          throw err;
        } finally {
          await stop();
        }
        // save_as is written (atomically) only by a run that completed: a short run never replaces a
        // good dataset; its records go to <name>.partial.jsonl beside it.
        let out = result.datasetPath;
        if (cfg.output.save_as) {
          const target = path.resolve(cfg.output.save_as);
          out = result.status === 'completed' ? target : partialPath(target);
          const ds = await Dataset.load(result.datasetPath);
          await ds.save(out, saveOptions(cfg));
          if (result.status === 'completed') await removeStalePartial(cfg);
        }
        const s = result.stats;
        const report = await reportFor(run.runId, dataDir);
        const uiLink = info.uiUrl ? `${info.uiUrl}/namespaces/${info.namespace}/workflows/${run.runId}` : undefined;
        process.stdout.write(
          `${result.status}: ${result.records} records in ${out}\n` +
            (s.batchesCached ? `  ${s.batchesCached} of ${s.batchesDone} batches reused from earlier checkpoints (paid before, not again)\n` : '') +
            `  success rate ${(s.successRate * 100).toFixed(1)}%, avg retries ${s.avgRetries.toFixed(2)}\n` +
            `  spent by this run${s.batchesCached ? ' (the reused batches not included)' : ''}: tokens in/out ${s.inputTokens}/${s.outputTokens}${s.costUsd !== undefined ? `, estimated cost $${s.costUsd.toFixed(4)}` : ''}\n` +
            (s.batchLines
              ? `  batch mode: ${s.batchInputTokens ?? 0}/${s.batchOutputTokens ?? 0} of the tokens at the batch price (half); ` +
                `${providerBatchCount(s)}, ${s.batchLines.succeeded} lines answered there, ${s.batchLines.live} called live\n`
              : '') +
            (s.stopReason ? `  stopped: ${s.stopReason}\n` : '') +
            (Object.keys(s.errorCategories).length ? `  errors: ${JSON.stringify(s.errorCategories)}\n` : '') +
            (Object.keys(s.rejected).length ? `  rejected: ${JSON.stringify(s.rejected)}\n` : '') +
            (s.quality?.judgeCalls
              ? `  judge: ${s.quality.judgeCalls} calls, tokens in/out ${s.quality.judgeInputTokens ?? 0}/${s.quality.judgeOutputTokens ?? 0}${s.judgeCostUsd !== undefined ? `, estimated cost $${s.judgeCostUsd.toFixed(4)} (in the total above)` : ''}\n`
              : '') +
            `  manifest: ${result.manifestPath}\n` +
            `  report: ${report}${uiLink ? `   Temporal UI: ${uiLink}` : ''}\n`,
        );
        if (result.status !== 'completed') {
          if (result.status === 'incomplete') process.stderr.write(`error: ${incompleteRunError(result).message}\n`);
          if (cfg.output.save_as) {
            const kept = existsSync(path.resolve(cfg.output.save_as)) ? 'was left as it was' : 'was not written (the run did not complete)';
            process.stderr.write(`${cfg.output.save_as} ${kept}; the run's records are in ${out}\n`);
          }
        }
        closing.now = true;
        await gen.close();
        if (result.status === 'completed') await pushAfterRun(cfg, out, { input: s.inputTokens, output: s.outputTokens });
        process.exit(result.status === 'completed' ? 0 : 1);
      } catch (err) {
        await gen?.close().catch(() => undefined);
        fail(err);
      }
    },
  );

/** Writes the run's report beside its data (`deepfabric report`); a failure to write it is said, never fatal to the run's exit. */
async function reportFor(runId: string, dataDir: string): Promise<string> {
  const store = await openStore({ dataDir, url: connectionSettings().storeUrl }).catch(() => undefined);
  if (!store) return `not written (the run store could not be opened); deepfabric report ${runId} writes it`;
  try {
    return (await writeReport(store.run(runId), runId, path.join(dataDir, 'runs', runId, 'report.html'))).file;
  } catch (err) {
    return `not written (${(err as Error).message.slice(0, 200)}); deepfabric report ${runId} writes it`;
  } finally {
    await store.close().catch(() => undefined);
  }
}

program
  .command('topics')
  .argument('<config>', 'YAML config with topics.prompt (and mode, depth, degree, save_as) and llm')
  .option('--data-dir <dir>', 'storage folder')
  .description('build a topic tree or graph with the LLM (a durable workflow) and save it')
  .action(async (configFile: string, o: { dataDir?: string }) => {
    try {
      const cfg = await loadYamlConfig(configFile);
      if (!cfg.topics.prompt) throw new ConfigurationError('topics.prompt: missing; the topics command builds topics from a root prompt');
      const dataDir = path.resolve(o.dataDir ?? defaultDataDir());
      confineOutputs(cfg, dataDir);
      if (!connectionSettings().cluster) logToFile(dataDir);
      const { model, result } = await buildTopics({ ...topicOptions(cfg), dataDir });
      process.stdout.write(
        `${result.mode}: ${model.getAllPaths().length} paths, ${result.nodes} nodes, ${result.failed} failed expansions` +
          (result.progress.duplicatesDropped ? `, ${result.progress.duplicatesDropped} duplicate subtopics dropped` : '') +
          (result.mode === 'graph' ? `, ${result.crossLinks} cross-links` : '') +
          `\n  ${cfg.topics.save_as ? path.resolve(cfg.topics.save_as) : result.file}\n`,
      );
      process.exit(0);
    } catch (err) {
      fail(err);
    }
  });

/** "1 provider batch", "3 provider batches". */
function providerBatchCount(s: { providerBatches?: Record<string, unknown> | undefined }): string {
  const n = Object.keys(s.providerBatches ?? {}).length;
  return `${n} provider batch${n === 1 ? '' : 'es'}`;
}

/** How long `generate` waits for a lost Temporal (ms): DEEPFABRIC_OUTAGE_PATIENCE seconds, or undefined for the default. */
function outagePatience(): number | undefined {
  const raw = process.env.DEEPFABRIC_OUTAGE_PATIENCE;
  if (raw === undefined || raw.trim() === '') return undefined;
  const seconds = Number(raw);
  if (!Number.isFinite(seconds) || seconds < 0) {
    throw new ConfigurationError(
      `DEEPFABRIC_OUTAGE_PATIENCE must be a number of seconds (got ${JSON.stringify(raw)}); unset it to wait 30 minutes for a cluster`,
    );
  }
  return seconds * 1000;
}
