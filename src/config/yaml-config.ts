import { promises as fs } from 'node:fs';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { ConfigurationError } from '../errors';
import { formatIssues } from './generator-options';
import { CONVERSATION_TYPES, DeclarativeFiltersSchema, ErrorCategorySchema, MAX_EXAMPLES_PER_RUN, tooManyExamples } from './run-input';

/**
 * The YAML config of `deepfabric generate` (DeepFabric 4.x sections, snake_case keys). Every
 * section is strict: an unknown key is refused with the closest known one suggested.
 */
export const YamlConfigSchema = z
  .object({
    run: z.object({ name: z.string().min(1).optional(), id: z.string().min(1).optional() }).strict().default({}),
    llm: z
      .object({
        provider: z.string().min(1).optional(),
        model: z.string().min(1),
        temperature: z.number().min(0).max(2).default(0.7),
        base_url: z.string().url().optional(),
        max_tokens: z.number().int().positive().optional(),
        /** Dollars per million tokens, when the built-in table lacks the model or is out of date. */
        price: z.object({ input_per_mtok: z.number().min(0), output_per_mtok: z.number().min(0) }).strict().optional(),
      })
      .strict(),
    topics: z
      .object({
        /** Topic paths given inline, each a list from the root down. */
        paths: z.array(z.array(z.string().min(1)).min(1)).min(1).optional(),
        /** A topic file: tree JSONL ({"path": [...]}) or graph JSON. */
        load_from: z.string().min(1).optional(),
        prompt: z.string().min(1).optional(),
        mode: z.enum(['tree', 'graph']).default('tree'),
        depth: z.number().int().min(1).max(10).default(2),
        degree: z.number().int().min(1).max(50).default(3),
        save_as: z.string().min(1).optional(),
        concurrency: z.number().int().min(1).max(1000).optional(),
      })
      .strict(),
    generation: z
      .object({
        system_prompt: z.string().default('You are a helpful assistant that writes high-quality training data.'),
        instructions: z.string().default(''),
        conversation: z.object({ type: z.enum(CONVERSATION_TYPES).default('basic') }).strict().default({ type: 'basic' }),
        max_retries: z.number().int().min(0).max(100).optional(),
        request_timeout: z.number().positive().optional(),
        concurrency: z.number().int().min(1).max(10000).optional(),
        /** Model calls one batch activity runs at once (DeepFabric 4.x's output.batch_size means this). */
        calls_per_batch: z.number().int().min(1).max(64).optional(),
        /** Stop gracefully before the estimated cost passes this many dollars (needs a known price). */
        budget_usd: z.number().positive().optional(),
        sys_msg: z.boolean().default(true),
        sampling: z.enum(['sequential', 'random', 'balanced']).default('sequential'),
        seed: z.number().int().optional(),
        template: z.string().optional(),
        template_vars: z.record(z.string(), z.string()).optional(),
        retry_on_errors: z.array(ErrorCategorySchema).optional(),
        filters: DeclarativeFiltersSchema.strict().optional(),
        examples: z.array(z.string()).optional(),
      })
      .strict()
      .prefault({}),
    output: z
      .object({
        num_samples: z.number().int().positive().max(MAX_EXAMPLES_PER_RUN, { error: (i) => tooManyExamples('num_samples', i.input as number).slice('num_samples: '.length) }),
        batch_size: z.number().int().positive().max(1000).default(5),
        save_as: z.string().min(1).optional(),
        format: z.string().min(1).optional(),
      })
      .strict(),
  })
  .strict();

export type YamlConfig = z.output<typeof YamlConfigSchema>;

/** Known keys per section, for "did you mean" hints. */
function knownKeys(): string[] {
  const keys: string[] = [];
  for (const [section, schema] of Object.entries(YamlConfigSchema.shape)) {
    keys.push(section);
    let inner: unknown = schema;
    while (inner && typeof inner === 'object' && 'unwrap' in inner && typeof (inner as { unwrap: unknown }).unwrap === 'function') {
      inner = (inner as { unwrap(): unknown }).unwrap();
    }
    const shape = (inner as { shape?: Record<string, unknown> })?.shape;
    if (shape) keys.push(...Object.keys(shape));
  }
  return keys;
}

/** Parses YAML text; every problem is reported with its field path (and line, for syntax errors). */
export function parseYamlConfig(text: string, source = 'config'): YamlConfig {
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length) {
    const issues = doc.errors.map((e) => `${source}: ${e.message.split('\n')[0]}`);
    throw new ConfigurationError(`${source} is not valid YAML: ${issues.join('; ')}`, issues);
  }
  const value = doc.toJS();
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigurationError(`${source}: expected a mapping with sections llm, topics, generation, output`);
  }
  const parsed = YamlConfigSchema.safeParse(value);
  if (!parsed.success) {
    const issues = formatIssues(parsed.error, knownKeys());
    throw new ConfigurationError(`${source} has ${issues.length} problem${issues.length > 1 ? 's' : ''}:\n  ${issues.join('\n  ')}`, issues);
  }
  const cfg = parsed.data;
  const sources = [cfg.topics.paths, cfg.topics.load_from, cfg.topics.prompt].filter((x) => x !== undefined).length;
  if (sources === 0) {
    throw new ConfigurationError(`${source}: topics needs one of paths (inline list), load_from (a topic file) or prompt (build a tree or graph)`);
  }
  return cfg;
}

/** Reads and parses a config file; relative paths inside it stay relative to the current folder. */
export async function loadYamlConfig(file: string): Promise<YamlConfig> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigurationError(
      code === 'ENOENT' ? `config file ${file} does not exist` : `cannot read config file ${file}: ${(err as Error).message}`,
    );
  }
  return parseYamlConfig(text, path.basename(file));
}
