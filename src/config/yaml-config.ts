import { promises as fs } from 'node:fs';
import { outputSchemaProblems } from './output-schema';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { ConfigurationError } from '../errors';
import { closest } from './generator-options';
import { BUILTIN_TOOLS, loadEndpointTools, ToolDefinitionSchema, type ToolDefinition, type ToolsSettings } from '../tools/tools';
import type { QualityOptionsInput } from './quality';
import { CONVERSATION_TYPES, DeclarativeFiltersSchema, ErrorCategorySchema, MAX_EXAMPLES_PER_RUN, tooManyExamples, type ConversationType } from './run-input';

/**
 * The YAML config of `deepfabric generate`: DeepFabric 4.x's config as it is (optional top-level
 * `llm`, per-stage `topics.llm` / `generation.llm`, its `topics`, `generation`, `output` keys and
 * the integration sections), plus this tool's own keys. Every section is strict: an unknown key is
 * refused with the closest key of the same section suggested. DeepFabric keys that have no meaning
 * here are accepted with one warning line each. The parsed config is normalized into `YamlConfig`.
 */

const LlmSchema = z
  .object({
    provider: z.string().min(1).optional(),
    model: z.string().min(1).optional(),
    temperature: z.number().min(0).max(2).optional(),
    base_url: z.string().url().optional(),
    max_tokens: z.number().int().positive().optional(),
    /** Dollars per million tokens, when the built-in table lacks the model or is out of date. */
    price: z
      .object({ input_per_mtok: z.number().min(0), output_per_mtok: z.number().min(0) })
      .strict()
      .optional(),
  })
  .strict();

/** `num_samples`: a count, `auto` (one per topic path) or a percentage of the topic paths (`"50%"`). */
const NumSamplesSchema = z.union([
  z
    .number()
    .int()
    .positive()
    .max(MAX_EXAMPLES_PER_RUN, { error: (i) => tooManyExamples('num_samples', i.input as number).slice('num_samples: '.length) }),
  z.literal('auto'),
  z.string().regex(/^\d+(\.\d+)?%$/, { error: 'expected a positive integer, "auto" or a percentage such as "50%"' }),
]);

const RawYamlConfigSchema = z
  .object({
    run: z
      .object({ name: z.string().min(1).optional(), id: z.string().min(1).optional() })
      .strict()
      .default({}),
    llm: LlmSchema.optional(),
    topics: z
      .object({
        /** Topic paths given inline, each a list from the root down. */
        paths: z
          .array(z.array(z.string().min(1)).min(1))
          .min(1)
          .optional(),
        /** A topic file: tree JSONL ({"path": [...]}) or graph JSON. */
        load_from: z.string().min(1).optional(),
        prompt: z.string().min(1).optional(),
        /** DeepFabric 4.x's defaults: a graph of depth 3 and degree 10. */
        mode: z.enum(['tree', 'graph']).default('graph'),
        system_prompt: z.string().optional(),
        depth: z.number().int().min(1).max(10).default(3),
        degree: z.number().int().min(1).max(50).default(10),
        save_as: z.string().min(1).optional(),
        concurrency: z.number().int().min(1).max(1000).optional(),
        /** DeepFabric's name for `concurrency` (1-20). */
        max_concurrent: z.number().int().min(1).max(1000).optional(),
        max_tokens: z.number().int().positive().optional(),
        prompt_style: z.enum(['default', 'isolated', 'anchored']).optional(),
        /** A graph's examples: one per node but the root, as DeepFabric 4.x (`nodes`), or one per root-to-leaf path (`paths`). */
        graph_sampling: z.enum(['nodes', 'paths']).default('nodes'),
        llm: LlmSchema.optional(),
      })
      .strict(),
    generation: z
      .object({
        system_prompt: z.string().default('You are a helpful assistant that writes high-quality training data.'),
        instructions: z.string().default(''),
        conversation: z
          .object({
            type: z.enum([...CONVERSATION_TYPES, 'cot']).default('basic'),
            /** DeepFabric 4.x: with `type: cot`, how the reasoning is written. */
            reasoning_style: z.enum(['freetext', 'structured', 'agent', 'hybrid']).optional(),
          })
          .strict()
          .default({ type: 'basic' }),
        max_retries: z.number().int().min(0).max(100).optional(),
        /** DeepFabric's retries of one sample after a validation failure: here part of max_retries. */
        sample_retries: z.number().int().min(0).max(100).optional(),
        max_tokens: z.number().int().positive().optional(),
        request_timeout: z.number().positive().optional(),
        concurrency: z.number().int().min(1).max(10000).optional(),
        /** Model calls one batch runs at once (DeepFabric 4.x's output.batch_size means this). */
        calls_per_batch: z.number().int().min(1).max(64).optional(),
        /** Batches one slice activity works through, refilling each call slot as soon as a call ends (default 4; 1 = no refill). */
        batches_per_slice: z.number().int().min(1).max(64).optional(),
        /** Stop gracefully before the estimated cost passes this many dollars (needs a known price). */
        budget_usd: z.number().positive().optional(),
        /** How model calls are made: live (default), or through the provider's batch API (OpenAI, Anthropic: half price, answers within 24 hours). */
        call_mode: z.enum(['live', 'batch']).optional(),
        /** Batch mode's settings (see README, "Batch mode"). */
        batch_api: z
          .object({
            /** Model calls in one provider batch (default 5,000; the providers allow 50,000 OpenAI, 100,000 Anthropic). */
            max_requests: z.number().int().min(1).max(100_000).optional(),
            /** Provider batches of the run at once (default 10). */
            max_in_flight: z.number().int().min(1).max(1000).optional(),
            /** Seconds between polls of a provider batch (default 60). */
            poll_seconds: z.number().min(1).max(3600).optional(),
            /** Provider batches a call may go through before it is called live (default 2: one resubmission of errored or expired lines). */
            attempts: z.number().int().min(1).max(10).optional(),
            /** Hours after a chunk's submission when what is unanswered is cancelled there and called live, at the live price. */
            deadline_hours: z.number().positive().max(24).optional(),
          })
          .strict()
          .optional(),
        /** Drop duplicate examples: exact (default true) and near (a similarity threshold, 0.5-1). */
        dedup: z
          .object({ exact: z.boolean().default(true), near: z.number().min(0.5).max(1).optional() })
          .strict()
          .optional(),
        sys_msg: z.boolean().optional(),
        sampling: z.enum(['sequential', 'random', 'balanced']).default('sequential'),
        seed: z.number().int().optional(),
        template: z.string().optional(),
        template_vars: z.record(z.string(), z.string()).optional(),
        retry_on_errors: z.array(ErrorCategorySchema).optional(),
        filters: DeclarativeFiltersSchema.strict().optional(),
        examples: z.array(z.string()).optional(),
        /** DeepFabric's retry settings, plus this tool's pacing at the provider's limit. */
        rate_limit: z
          .object({
            requests_per_minute: z.number().positive().max(1_000_000).optional(),
            burst: z.number().int().min(1).max(10_000).optional(),
            max_retries: z.number().int().min(0).max(100).optional(),
            base_delay: z.number().positive().optional(),
            max_delay: z.number().positive().optional(),
            exponential_base: z.number().min(1).max(10).optional(),
            backoff_strategy: z.string().optional(),
            jitter: z.boolean().optional(),
            respect_retry_after: z.boolean().optional(),
          })
          .strict()
          .optional(),
        /** DeepFabric 4.x: the tools an agent example calls (executed by the worker; see src/tools/tools.ts). */
        tools: z
          .object({
            spin_endpoint: z.string().url().optional(),
            components: z.record(z.string(), z.array(z.string()).nullable()).optional(),
            tools_endpoint: z.string().optional(),
            custom: z.array(z.record(z.string(), z.unknown())).optional(),
            max_per_query: z.number().int().min(1).max(10).optional(),
            strict: z.boolean().optional(),
            /** DeepFabric's generator option (its default `used_only`): which tools a record lists. */
            tool_inclusion_strategy: z.enum(['used_only', 'all']).optional(),
            scenario_seed: z
              .object({ files: z.record(z.string(), z.string()).optional() })
              .strict()
              .optional(),
            max_agent_steps: z.number().int().min(1).max(10).optional(),
            tool_execute_path: z.string().optional(),
          })
          .strict()
          .optional(),
        // DeepFabric 4.x: output_schema (custom records: each record one object of this JSON schema), save_as (used as
        // output.save_as, with a warning), and the stage's own llm.
        output_schema: z.unknown().optional(),
        save_as: z.string().min(1).optional(),
        /** Misplaced in some of DeepFabric's examples (it belongs under tools; DeepFabric ignores it here). */
        scenario_seed: z.unknown().optional(),
        llm: LlmSchema.optional(),
      })
      .strict()
      .prefault({}),
    output: z
      .object({
        /** The system message written into each record (DeepFabric 4.x); default generation.system_prompt. */
        system_prompt: z.string().optional(),
        include_system_message: z.boolean().optional(),
        /** DeepFabric 4.x's default: 3. */
        num_samples: NumSamplesSchema.default(3),
        /** DeepFabric 4.x: samples processed at a time, i.e. parallel one-sample calls (here: calls per batch). */
        batch_size: z.number().int().positive().max(64).optional(),
        /** Examples asked for in one model call (before DeepFabric compatibility, `batch_size` meant this). */
        samples_per_call: z.number().int().positive().max(1000).optional(),
        save_as: z.string().min(1).optional(),
        /** A formatter here; DeepFabric 4.13's `messages` (the records as they are) and `custom` are accepted too. */
        format: z.string().min(1).optional(),
        /** Fields `format` may leave out (this project's key): a list, or one comma-separated string. */
        drop: z
          .union([z.array(z.string().min(1)), z.string().min(1)])
          .transform((v) =>
            typeof v === 'string'
              ? v
                  .split(',')
                  .map((x) => x.trim())
                  .filter(Boolean)
              : v,
          )
          .optional(),
        checkpoint: z.record(z.string(), z.unknown()).optional(),
        /** DeepFabric 3.x's formatter list: DeepFabric 4.x ignores it (accepted with a warning). */
        formatters: z.unknown().optional(),
      })
      .strict(),
    /** DeepFabric 4.x: push the dataset and a card to this Hub dataset repo after a completed run (HF_TOKEN). */
    huggingface: z
      .object({ repository: z.string().min(1), tags: z.array(z.string()).default([]) })
      .strict()
      .optional(),
    /** This tool's quality gates (README, "Quality gates"): a judge model's rubric scores and validators. */
    quality: z
      .object({
        judge: z
          .object({
            /** The judge's model; default the generation model (temperature 0 unless given). */
            llm: LlmSchema.optional(),
            rubric: z
              .array(
                z
                  .object({
                    name: z.string(),
                    description: z.string(),
                    /** The highest score (from 1), or [lowest, highest]; default 5. */
                    scale: z.union([z.number().int(), z.tuple([z.number().int(), z.number().int()])]).optional(),
                    min_score: z.number().optional(),
                  })
                  .strict(),
              )
              .min(1),
            /** The minimum score of every rubric item without its own min_score. */
            min_score: z.number().optional(),
          })
          .strict()
          .optional(),
        validators: z
          .array(
            z.discriminatedUnion('type', [
              z
                .object({ type: z.literal('python'), ruff: z.boolean().optional(), name: z.string().optional(), action: z.enum(['drop', 'flag']).optional() })
                .strict(),
              z.object({ type: z.literal('json'), name: z.string().optional(), action: z.enum(['drop', 'flag']).optional() }).strict(),
              z.object({ type: z.literal('regex'), pattern: z.string(), name: z.string().optional(), action: z.enum(['drop', 'flag']).optional() }).strict(),
              z
                .object({
                  type: z.literal('http'),
                  url: z.string().url(),
                  timeout_seconds: z.number().positive().optional(),
                  name: z.string().optional(),
                  action: z.enum(['drop', 'flag']).optional(),
                })
                .strict(),
            ]),
          )
          .optional(),
      })
      .strict()
      .optional(),
    // DeepFabric 4.x integrations: accepted with a warning.
    kaggle: z.record(z.string(), z.unknown()).optional(),
    deepfabric_cloud: z.record(z.string(), z.unknown()).optional(),
    evaluation: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();

type RawYamlConfig = z.output<typeof RawYamlConfigSchema>;

/** A stage's model after merging the top-level `llm` with the stage's own block. */
interface ResolvedLlm {
  model: string;
  provider?: string | undefined;
  temperature: number;
  base_url?: string | undefined;
  max_tokens?: number | undefined;
  price?: { input_per_mtok: number; output_per_mtok: number } | undefined;
}

/** The normalized config the CLI runs. */
export interface YamlConfig {
  run: RawYamlConfig['run'];
  /** The generation stage's model. */
  llm: ResolvedLlm;
  /** The topic build's model (`topics.llm` over `llm`); undefined when topics are not built. */
  topicsLlm: ResolvedLlm | undefined;
  topics: Omit<RawYamlConfig['topics'], 'llm' | 'max_concurrent' | 'prompt_style'>;
  generation: Omit<
    RawYamlConfig['generation'],
    'llm' | 'conversation' | 'sample_retries' | 'rate_limit' | 'tools' | 'output_schema' | 'save_as' | 'scenario_seed' | 'sys_msg' | 'max_tokens'
  > & {
    conversation: { type: ConversationType };
    /** Custom records (DeepFabric 4.13's output_schema): each record one object of this JSON schema. */
    output_schema?: Record<string, unknown>;
    /** Resolved tools of an agent run (DeepFabric's generation.tools). */
    tools?: ToolsSettings;
    /** Tools of Spin components whose definitions `loadYamlConfig` reads from `tools_endpoint` (added to `tools`). */
    toolsFromEndpoint?: { endpoint: string; components: Record<string, string[]> };
    sys_msg: boolean;
    /** Retry backoff from DeepFabric's rate_limit block. */
    backoff?: { initial?: number; max?: number; multiplier?: number };
    /** Pacing at the provider's limit. */
    pacing?: { requestsPerMinute: number; burst?: number };
  };
  output: {
    /** A count, or resolved against the topic paths by `resolveNumSamples`. */
    num_samples: number | 'auto' | `${number}%`;
    samples_per_call: number;
    system_prompt?: string | undefined;
    save_as?: string | undefined;
    format?: string | undefined;
    /** Fields the format may leave out (`output.drop`, `--drop`). */
    drop?: string[] | undefined;
  };
  /** Quality gates, as the library's `quality` option. */
  quality?: QualityOptionsInput | undefined;
  /** Where a completed run is pushed (DeepFabric 4.x `huggingface` section). */
  huggingface?: { repository: string; tags: string[] } | undefined;
  /** One line per DeepFabric key accepted without effect here, for the CLI to print. */
  warnings: string[];
}

/** DeepFabric keys that are accepted but do nothing here, and why. */
const DEEPFABRIC_ONLY: Record<string, string> = {
  'generation.sample_retries': 'retries after a validation failure are part of max_retries here (the retry carries the error in its prompt)',
  'output.checkpoint': 'every batch is a checkpoint here; nothing to configure',
  'output.formatters': 'DeepFabric 4.x has no formatters (removed in 4.0) and ignores this list; output.format names one formatter here',
  'generation.scenario_seed': 'ignored, as DeepFabric ignores it here; seed files belong under generation.tools.scenario_seed',
  kaggle: 'no upload here',
  deepfabric_cloud: 'no DeepFabric Cloud here',
  evaluation: 'no evaluation here',
};

function mergeLlm(stage: string, top: RawYamlConfig['llm'], own: RawYamlConfig['llm']): ResolvedLlm | string {
  const m = { ...top, ...own };
  if (!m.model) return `${stage}.llm.model: missing; set llm.model (for every stage) or ${stage}.llm.model, e.g. "openai/gpt-4o-mini"`;
  return {
    model: m.model,
    temperature: m.temperature ?? 0.7,
    ...(m.provider ? { provider: m.provider } : {}),
    ...(m.base_url ? { base_url: m.base_url } : {}),
    ...(m.max_tokens ? { max_tokens: m.max_tokens } : {}),
    ...(m.price ? { price: m.price } : {}),
  };
}

/**
 * `cot` + `reasoning_style` (DeepFabric 4.x) as this tool's conversation types: DeepFabric 4.x's
 * records (`chain_of_thought`: reasoning {style freetext}; `agent`: reasoning steps, and with tools
 * the executed calls). `structured` and `hybrid` are deprecated there and mean `agent`; so here.
 */
function conversationType(c: RawYamlConfig['generation']['conversation'], warnings: string[]): ConversationType {
  if (c.type !== 'cot') return c.type;
  switch (c.reasoning_style ?? 'freetext') {
    case 'freetext':
      return 'chain_of_thought';
    case 'structured':
    case 'hybrid':
      warnings.push(`generation.conversation.reasoning_style ${c.reasoning_style}: deprecated in DeepFabric 4.x, which writes it as agent; so does this tool`);
      return 'agent';
    case 'agent':
      return 'agent';
  }
}

/** DeepFabric's `generation.tools` resolved into the tools a worker executes; problems name their field. */
function resolveTools(
  t: NonNullable<RawYamlConfig['generation']['tools']>,
  issues: string[],
): { settings: ToolsSettings; fromEndpoint?: { endpoint: string; components: Record<string, string[]> } } | undefined {
  const tools: ToolDefinition[] = [];
  const pending: Record<string, string[]> = {};
  const before = issues.length;
  for (const [component, names] of Object.entries(t.components ?? {})) {
    if (component !== 'builtin') {
      // Loaded from tools_endpoint by loadYamlConfig, executed by Spin at /{component}/execute (DeepFabric's routing).
      if (!t.tools_endpoint || !t.spin_endpoint) {
        issues.push(
          `generation.tools.components.${component}: needs tools_endpoint (where its tool definitions are listed) and spin_endpoint (where they run), as in DeepFabric; or define the tools under generation.tools.custom with a mock_response`,
        );
      } else if (!names?.length) issues.push(`generation.tools.components.${component}: list the tools to use from it`);
      else pending[component] = names;
      continue;
    }
    const wanted = names?.length ? names : BUILTIN_TOOLS.map((b) => b.name);
    for (const name of wanted) {
      const def = BUILTIN_TOOLS.find((b) => b.name === name);
      if (def) tools.push(def);
      else issues.push(`generation.tools.components.builtin: unknown tool "${name}"; the builtin tools are ${BUILTIN_TOOLS.map((b) => b.name).join(', ')}`);
    }
  }
  (t.custom ?? []).forEach((raw, i) => {
    const parsed = ToolDefinitionSchema.safeParse(raw);
    const where = `generation.tools.custom[${i}]${typeof raw.name === 'string' ? ` (${raw.name})` : ''}`;
    if (!parsed.success) {
      for (const issue of parsed.error.issues) issues.push(`${where}${issue.path.length ? `.${issue.path.join('.')}` : ''}: ${issue.message}`);
      return;
    }
    if (parsed.data.mock_response === undefined && !t.spin_endpoint) {
      issues.push(
        `${where}: no mock_response and no spin_endpoint, so nothing could execute it; give it a mock_response (placeholders {{arg}}) or set generation.tools.spin_endpoint`,
      );
    }
    tools.push(parsed.data);
  });
  const names = tools.map((x) => x.name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) issues.push(`generation.tools: the tool "${dup}" is defined twice`);
  const fromEndpoint = Object.keys(pending).length ? { endpoint: t.tools_endpoint!, components: pending } : undefined;
  if (tools.length === 0 && !fromEndpoint) {
    if (issues.length === before) issues.push('generation.tools: no tools; list builtin tools under components.builtin or define tools under custom');
    return undefined;
  }
  const settings: ToolsSettings = {
    tools,
    ...(t.spin_endpoint ? { spinEndpoint: t.spin_endpoint } : {}),
    ...(t.tool_execute_path ? { toolExecutePath: t.tool_execute_path } : {}),
    seedFiles: t.scenario_seed?.files ?? {},
    maxPerQuery: t.max_per_query ?? 3,
    strict: t.strict ?? true,
    maxAgentSteps: t.max_agent_steps ?? 5,
    toolInclusion: t.tool_inclusion_strategy ?? 'used_only',
  };
  return { settings, ...(fromEndpoint ? { fromEndpoint } : {}) };
}

/** `obj` without `keys`. */
function omit<T extends object, K extends keyof T>(obj: T, keys: readonly K[]): Omit<T, K> {
  const out = { ...obj };
  for (const k of keys) delete out[k];
  return out;
}

/** Normalizes a parsed config; problems that need several fields are returned as issues. */
function normalize(raw: RawYamlConfig): { cfg: YamlConfig; issues: string[] } {
  const issues: string[] = [];
  const warnings: string[] = [];
  const present = (section: Record<string, unknown> | undefined, key: string) => section !== undefined && section[key] !== undefined;
  for (const [key, why] of Object.entries(DEEPFABRIC_ONLY)) {
    const [section, field] = key.split('.') as [keyof RawYamlConfig, string | undefined];
    const where = raw[section] as Record<string, unknown> | undefined;
    if (field ? present(where, field) : where !== undefined) warnings.push(`${key}: accepted, no effect: ${why}`);
  }
  if (raw.topics.prompt_style && raw.topics.prompt_style !== 'default')
    warnings.push(`topics.prompt_style ${raw.topics.prompt_style}: accepted, no effect: topics are built with the default prompts`);
  if (raw.generation.save_as && raw.output.save_as === undefined) warnings.push('generation.save_as: used as output.save_as');
  if (raw.topics.concurrency !== undefined && raw.topics.max_concurrent !== undefined)
    issues.push('topics.max_concurrent: same as topics.concurrency; keep one');
  if (raw.output.batch_size !== undefined && raw.generation.calls_per_batch !== undefined) {
    issues.push("output.batch_size: DeepFabric's batch_size (parallel calls) is generation.calls_per_batch here; keep one");
  }

  const gl = mergeLlm('generation', raw.llm, raw.generation.llm);
  if (typeof gl === 'string') issues.push(gl);
  const builds = raw.topics.prompt !== undefined && raw.topics.paths === undefined && raw.topics.load_from === undefined;
  const tl = builds ? mergeLlm('topics', raw.llm, raw.topics.llm) : undefined;
  if (typeof tl === 'string') issues.push(tl);
  if (raw.generation.max_tokens !== undefined && typeof gl !== 'string') gl.max_tokens = raw.generation.max_tokens;
  if (raw.topics.max_tokens !== undefined && tl && typeof tl !== 'string') tl.max_tokens = raw.topics.max_tokens;

  const topics = omit(raw.topics, ['llm', 'max_concurrent', 'prompt_style']);
  const max_concurrent = raw.topics.max_concurrent;
  const generation = omit(raw.generation, [
    'llm',
    'conversation',
    'sample_retries',
    'rate_limit',
    'tools',
    'output_schema',
    'save_as',
    'scenario_seed',
    'sys_msg',
    'max_tokens',
  ]);
  const rl = raw.generation.rate_limit;
  if (rl?.max_retries !== undefined && raw.generation.max_retries !== undefined && rl.max_retries !== raw.generation.max_retries) {
    issues.push('generation.rate_limit.max_retries: contradicts generation.max_retries; keep one');
  }
  if (rl?.jitter)
    warnings.push('generation.rate_limit.jitter: accepted, no effect: Temporal retries without jitter; pacing (requests_per_minute) spreads calls instead');
  if (rl?.backoff_strategy && !rl.backoff_strategy.startsWith('exponential'))
    warnings.push(`generation.rate_limit.backoff_strategy ${rl.backoff_strategy}: accepted, retries back off exponentially here`);
  if (raw.generation.batch_api && raw.generation.call_mode !== 'batch')
    warnings.push('generation.batch_api: accepted, no effect without generation.call_mode: batch');
  if (rl?.respect_retry_after === false)
    warnings.push("generation.rate_limit.respect_retry_after false: accepted, no effect: a provider's retry-after is always honoured");
  const { conversation, save_as: genSaveAs, sys_msg } = raw.generation;
  const output = omit(raw.output, ['batch_size', 'samples_per_call', 'include_system_message', 'checkpoint', 'formatters']);
  const { batch_size, samples_per_call, include_system_message } = raw.output;
  // DeepFabric 4.13's output.format: messages (its default: the records as they are) or custom: records
  // in generation.output_schema, which is what makes them custom (in DeepFabric too, with or without the format).
  const outputSchema = raw.generation.output_schema;
  if (outputSchema !== undefined) issues.push(...outputSchemaProblems(outputSchema));
  if (output.format === 'messages') delete output.format;
  else if (output.format === 'custom') {
    if (outputSchema === undefined)
      warnings.push('output.format custom: no effect without generation.output_schema (as in DeepFabric): the records are messages records');
    delete output.format;
  } else if (output.format !== undefined && outputSchema !== undefined)
    issues.push(
      `output.format ${output.format}: records of generation.output_schema are written as they are (output.format custom); a formatter cannot shape them`,
    );
  if (include_system_message !== undefined && sys_msg !== undefined && include_system_message !== sys_msg) {
    issues.push('output.include_system_message: contradicts generation.sys_msg; keep one');
  }
  const convType = conversationType(conversation, warnings);
  let tools: ToolsSettings | undefined;
  let toolsFromEndpoint: { endpoint: string; components: Record<string, string[]> } | undefined;
  if (raw.generation.tools) {
    if (convType === 'agent') {
      const resolved = resolveTools(raw.generation.tools, issues);
      tools = resolved?.settings;
      toolsFromEndpoint = resolved?.fromEndpoint;
    } else
      warnings.push(
        `generation.tools: accepted, no effect: tools are called by agent examples (conversation type cot with reasoning_style agent), not ${convType}`,
      );
  }
  const cfg: YamlConfig = {
    run: raw.run,
    llm: typeof gl === 'string' ? ({} as ResolvedLlm) : gl,
    topicsLlm: typeof tl === 'string' ? undefined : tl,
    topics: { ...topics, ...(max_concurrent !== undefined ? { concurrency: max_concurrent } : {}) },
    generation: {
      ...generation,
      ...(batch_size !== undefined ? { calls_per_batch: batch_size } : {}),
      conversation: { type: convType },
      ...(outputSchema !== undefined ? { output_schema: outputSchema as Record<string, unknown> } : {}),
      ...(tools ? { tools } : {}),
      ...(toolsFromEndpoint ? { toolsFromEndpoint } : {}),
      ...(rl?.max_retries !== undefined && raw.generation.max_retries === undefined ? { max_retries: rl.max_retries } : {}),
      ...(rl && (rl.base_delay !== undefined || rl.max_delay !== undefined || rl.exponential_base !== undefined)
        ? {
            backoff: {
              ...(rl.base_delay !== undefined ? { initial: rl.base_delay } : {}),
              ...(rl.max_delay !== undefined ? { max: rl.max_delay } : {}),
              ...(rl.exponential_base !== undefined ? { multiplier: rl.exponential_base } : {}),
            },
          }
        : {}),
      ...(rl?.requests_per_minute !== undefined ? { pacing: { requestsPerMinute: rl.requests_per_minute, ...(rl.burst ? { burst: rl.burst } : {}) } } : {}),
      sys_msg: include_system_message ?? sys_msg ?? true,
    },
    output: {
      ...output,
      ...(output.save_as === undefined && genSaveAs ? { save_as: genSaveAs } : {}),
      num_samples: output.num_samples as YamlConfig['output']['num_samples'],
      // DeepFabric asks for one sample per call; so does a config that does not say.
      samples_per_call: samples_per_call ?? 1,
    },
    ...(raw.huggingface ? { huggingface: raw.huggingface } : {}),
    ...(raw.quality ? { quality: qualityOptions(raw.quality) } : {}),
    warnings,
  };
  return { cfg, issues };
}

/** The YAML's `quality` section as the library's `quality` option (snake_case keys to camelCase). */
function qualityOptions(q: NonNullable<RawYamlConfig['quality']>): QualityOptionsInput {
  const j = q.judge;
  const llm = j?.llm;
  return {
    ...(j
      ? {
          judge: {
            ...(llm?.model ? { modelName: llm.model } : {}),
            ...(llm?.model && llm.provider ? { provider: llm.provider } : {}),
            ...(llm?.model && llm.base_url ? { baseUrl: llm.base_url } : {}),
            ...(llm?.temperature !== undefined ? { temperature: llm.temperature } : {}),
            ...(llm?.max_tokens !== undefined ? { maxTokens: llm.max_tokens } : {}),
            ...(llm?.price ? { price: { inputPerMTokUsd: llm.price.input_per_mtok, outputPerMTokUsd: llm.price.output_per_mtok } } : {}),
            rubric: j.rubric.map((r) => ({
              name: r.name,
              description: r.description,
              ...(r.scale !== undefined ? { scale: r.scale } : {}),
              ...(r.min_score !== undefined ? { minScore: r.min_score } : {}),
            })),
            ...(j.min_score !== undefined ? { minScore: j.min_score } : {}),
          },
        }
      : {}),
    validators: (q.validators ?? []).map((v) => {
      if (v.type !== 'http') return v;
      const { timeout_seconds, ...rest } = v;
      return { ...rest, ...(timeout_seconds !== undefined ? { timeoutSeconds: timeout_seconds } : {}) };
    }),
  };
}

/**
 * `num_samples` as a count: `auto` is one example per topic (a path, or a graph's node), `"50%"` half
 * of them, rounded down as DeepFabric does (at least 1).
 */
export function resolveNumSamples(numSamples: YamlConfig['output']['num_samples'], topicPaths: number): number {
  if (typeof numSamples === 'number') return numSamples;
  if (numSamples === 'auto') return Math.max(1, topicPaths);
  return Math.max(1, Math.floor((topicPaths * parseFloat(numSamples)) / 100));
}

/** The keys of a section's schema (unwrapping defaults and optionals). */
function keysOf(schema: unknown): string[] {
  let inner: unknown = schema;
  while (inner && typeof inner === 'object' && 'unwrap' in inner && typeof (inner as { unwrap: unknown }).unwrap === 'function') {
    inner = (inner as { unwrap(): unknown }).unwrap();
  }
  const shape = (inner as { shape?: Record<string, unknown> })?.shape;
  return shape ? Object.keys(shape) : [];
}

/** The known keys at a path of the config (`[]`: the sections; `['topics']`: the topics keys; ...). */
function knownKeysAt(where: (string | number)[]): string[] {
  let schema: unknown = RawYamlConfigSchema;
  for (const part of where) {
    let inner: unknown = schema;
    while (inner && typeof inner === 'object' && 'unwrap' in inner && typeof (inner as { unwrap: unknown }).unwrap === 'function') {
      inner = (inner as { unwrap(): unknown }).unwrap();
    }
    schema = (inner as { shape?: Record<string, unknown> })?.shape?.[String(part)];
    if (!schema) return [];
  }
  return keysOf(schema);
}

/** zod issues as "field: problem" lines; an unknown key gets a suggestion from its own section only. */
function configIssues(error: z.ZodError): string[] {
  return error.issues.flatMap((issue) => {
    const where = issue.path.map(String).join('.') || '(root)';
    if (issue.code === 'unrecognized_keys') {
      const known = knownKeysAt(issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p)));
      return issue.keys.map((k) => {
        const near = closest(k, known);
        return `${[where === '(root)' ? '' : where, k].filter(Boolean).join('.')}: unknown option${near ? `; did you mean "${near}"?` : ''}`;
      });
    }
    return [`${where}: ${issue.message}`];
  });
}

/** Parses YAML text; every problem is reported with its field path (and line, for syntax errors). */
/**
 * Values set by flags before the file is checked (`generate --conversation-type cot`, ...): dotted
 * config keys, so a flag's value is checked and normalized exactly as the same key in the file.
 */
type RawSettings = Record<string, unknown>;

function setDotted(target: Record<string, unknown>, dotted: string, value: unknown): void {
  const keys = dotted.split('.');
  let at = target;
  for (const k of keys.slice(0, -1)) {
    const next = at[k];
    at = at[k] = next && typeof next === 'object' && !Array.isArray(next) ? (next as Record<string, unknown>) : {};
  }
  at[keys.at(-1)!] = value;
}

export function parseYamlConfig(text: string, source = 'config', settings: RawSettings = {}): YamlConfig {
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length) {
    const issues = doc.errors.map((e) => `${source}: ${e.message.split('\n')[0]}`);
    throw new ConfigurationError(`${source} is not valid YAML: ${issues.join('; ')}`, issues);
  }
  const value = doc.toJS();
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigurationError(`${source}: expected a mapping with sections llm, topics, generation, output`);
  }
  for (const [key, v] of Object.entries(settings)) setDotted(value as Record<string, unknown>, key, v);
  const parsed = RawYamlConfigSchema.safeParse(value);
  const problems = (issues: string[]) =>
    new ConfigurationError(`${source} has ${issues.length} problem${issues.length > 1 ? 's' : ''}:\n  ${issues.join('\n  ')}`, issues);
  if (!parsed.success) throw problems(configIssues(parsed.error));
  const { cfg, issues } = normalize(parsed.data);
  const sources = [cfg.topics.paths, cfg.topics.load_from, cfg.topics.prompt].filter((x) => x !== undefined).length;
  if (sources === 0) issues.push('topics: needs one of paths (inline list), load_from (a topic file) or prompt (build a tree or graph)');
  if (issues.length) throw problems(issues);
  return cfg;
}

/** Reads and parses a config file; relative paths inside it stay relative to the current folder. */
export async function loadYamlConfig(file: string, settings: RawSettings = {}): Promise<YamlConfig> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigurationError(code === 'ENOENT' ? `config file ${file} does not exist` : `cannot read config file ${file}: ${(err as Error).message}`);
  }
  const cfg = parseYamlConfig(text, path.basename(file), settings);
  const load = cfg.generation.toolsFromEndpoint;
  if (load && cfg.generation.tools) {
    cfg.generation.tools.tools.push(...(await loadEndpointTools(load.endpoint, load.components)));
    delete cfg.generation.toolsFromEndpoint;
  }
  return cfg;
}

/** `generate` flags that override the config file, as DeepFabric's do. */
export interface GenerateOverrides {
  provider?: string;
  model?: string;
  temperature?: string;
  baseUrl?: string;
  numSamples?: string;
  batchSize?: string;
  samplesPerCall?: string;
  topicsLoad?: string;
  mode?: string;
  depth?: string;
  degree?: string;
  topicsSaveAs?: string;
  outputSaveAs?: string;
  callMode?: string;
  /** DeepFabric 4.13's flags for keys of the file (set before it is checked: see `rawSettingsOf`). */
  topicPrompt?: string;
  topicsSystemPrompt?: string;
  generationSystemPrompt?: string;
  outputSystemPrompt?: string;
  includeSystemMessage?: boolean;
  /** commander's `--no-system-message`: false when given. */
  systemMessage?: boolean;
  conversationType?: string;
  reasoningStyle?: string;
}

/** The flags that set keys of the file, as dotted keys (checked with the file: a wrong value names its key). */
export function rawSettingsOf(o: GenerateOverrides): RawSettings {
  const out: RawSettings = {};
  if (o.topicPrompt !== undefined) out['topics.prompt'] = o.topicPrompt;
  if (o.topicsSystemPrompt !== undefined) out['topics.system_prompt'] = o.topicsSystemPrompt;
  if (o.generationSystemPrompt !== undefined) out['generation.system_prompt'] = o.generationSystemPrompt;
  if (o.outputSystemPrompt !== undefined) out['output.system_prompt'] = o.outputSystemPrompt;
  if (o.includeSystemMessage) out['output.include_system_message'] = true;
  if (o.systemMessage === false) out['output.include_system_message'] = false;
  if (o.conversationType !== undefined) out['generation.conversation.type'] = o.conversationType;
  if (o.reasoningStyle !== undefined) out['generation.conversation.reasoning_style'] = o.reasoningStyle;
  return out;
}

/**
 * Applies `generate` flags to a parsed config (the flags win, for every stage's model alike), with
 * the same checks as the file's keys; a bad flag is named by its flag.
 */
export function applyOverrides(cfg: YamlConfig, o: GenerateOverrides): YamlConfig {
  const issues: string[] = [];
  const int = (flag: string, v: string | undefined, min: number, max: number): number | undefined => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) issues.push(`--${flag}: expected an integer from ${min} to ${max}, got "${v}"`);
    return n;
  };
  const stage = (l: ResolvedLlm): ResolvedLlm => ({
    ...l,
    ...(o.model ? { model: o.model } : {}),
    ...(o.provider ? { provider: o.provider } : {}),
    ...(o.baseUrl ? { base_url: o.baseUrl } : {}),
    ...(o.temperature !== undefined ? { temperature: Number(o.temperature) } : {}),
  });
  if (o.temperature !== undefined && !(Number(o.temperature) >= 0 && Number(o.temperature) <= 2))
    issues.push(`--temperature: expected a number from 0 to 2, got "${o.temperature}"`);
  let numSamples: YamlConfig['output']['num_samples'] | undefined;
  if (o.numSamples !== undefined) {
    const parsed = NumSamplesSchema.safeParse(/^\d+$/.test(o.numSamples) ? Number(o.numSamples) : o.numSamples);
    if (parsed.success) numSamples = parsed.data as YamlConfig['output']['num_samples'];
    else issues.push(`--num-samples: expected a positive integer, "auto" or a percentage such as "50%", got "${o.numSamples}"`);
  }
  const callsPerBatch = int('batch-size', o.batchSize, 1, 64);
  const samplesPerCall = int('samples-per-call', o.samplesPerCall, 1, 1000);
  const depth = int('depth', o.depth, 1, 10);
  const degree = int('degree', o.degree, 1, 50);
  if (o.mode !== undefined && o.mode !== 'tree' && o.mode !== 'graph') issues.push(`--mode: expected tree or graph, got "${o.mode}"`);
  if (o.callMode !== undefined && o.callMode !== 'live' && o.callMode !== 'batch') issues.push(`--call-mode: expected live or batch, got "${o.callMode}"`);
  if (issues.length) throw new ConfigurationError(`bad flag${issues.length > 1 ? 's' : ''}:\n  ${issues.join('\n  ')}`, issues);

  const topics = { ...cfg.topics };
  if (o.topicsLoad) {
    topics.load_from = o.topicsLoad;
    delete topics.paths;
    delete topics.prompt;
  }
  if (o.mode) topics.mode = o.mode as 'tree' | 'graph';
  if (depth !== undefined) topics.depth = depth;
  if (degree !== undefined) topics.degree = degree;
  if (o.topicsSaveAs) topics.save_as = o.topicsSaveAs;
  return {
    ...cfg,
    llm: stage(cfg.llm),
    topicsLlm: o.topicsLoad ? undefined : cfg.topicsLlm && stage(cfg.topicsLlm),
    topics,
    generation: {
      ...cfg.generation,
      ...(callsPerBatch !== undefined ? { calls_per_batch: callsPerBatch } : {}),
      ...(o.callMode ? { call_mode: o.callMode as 'live' | 'batch' } : {}),
    },
    output: {
      ...cfg.output,
      ...(numSamples !== undefined ? { num_samples: numSamples } : {}),
      ...(samplesPerCall !== undefined ? { samples_per_call: samplesPerCall } : {}),
      ...(o.outputSaveAs ? { save_as: o.outputSaveAs } : {}),
    },
  };
}
