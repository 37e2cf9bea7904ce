/**
 * Hugging Face upload: a dataset file and its card (README.md) in one commit to a dataset repo,
 * through `@huggingface/hub` (the Hub's own JS client). The token comes from the caller (the CLI
 * reads `HF_TOKEN`); it is sent only in the Authorization header, never written into a file.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { createRepo, repoExists, uploadFiles } from '@huggingface/hub';
import { ConfigurationError, DataSetGeneratorError } from '../errors';

/** Record fields that hold objects: stored as JSON strings on the Hub, as DeepFabric does (one Parquet schema for every row). */
const NESTED_FIELDS = ['metadata', 'reasoning', 'tool_context', 'tools', 'agent_context', 'structured_data'] as const;

/** Generation settings shown in the card. Only what describes the data: no key, no token, no endpoint URL. */
export interface CardSettings {
  provider?: string | undefined;
  model?: string | undefined;
  conversationType?: string | undefined;
  temperature?: number | undefined;
  topicPrompt?: string | undefined;
  topicMode?: string | undefined;
  depth?: number | undefined;
  degree?: number | undefined;
  numSamples?: number | string | undefined;
  samplesPerCall?: number | undefined;
  format?: string | undefined;
  tokens?: { input: number; output: number } | undefined;
}

export interface HubUploadOptions {
  /** `owner/name` of a dataset repository (created when it does not exist). */
  repo: string;
  /** A Hugging Face access token (`hf_…`). */
  token: string;
  /** The JSONL dataset to upload. */
  datasetFile: string;
  tags?: string[];
  settings?: CardSettings;
  /** The Hub's address; default `HF_ENDPOINT` or https://huggingface.co. */
  hubUrl?: string;
}

interface HubUploadResult {
  url: string;
  files: string[];
  records: number;
  commit?: string | undefined;
}

/** The Hub's size categories (`size_categories` in a card). */
export function sizeCategory(n: number): string {
  const bounds: [number, string][] = [
    [1_000, 'n<1K'],
    [10_000, '1K<n<10K'],
    [100_000, '10K<n<100K'],
    [1_000_000, '100K<n<1M'],
    [10_000_000, '1M<n<10M'],
    [100_000_000, '10M<n<100M'],
  ];
  for (const [bound, name] of bounds) if (n < bound) return name;
  return 'n>1T';
}

/** One record as stored on the Hub: nested objects as JSON strings, every other field as it is. */
export function hubRow(record: Record<string, unknown>): Record<string, unknown> {
  const row: Record<string, unknown> = { ...record };
  for (const f of NESTED_FIELDS) if (row[f] !== undefined && row[f] !== null && typeof row[f] !== 'string') row[f] = JSON.stringify(row[f]);
  return row;
}

const yamlString = (s: string) => JSON.stringify(s);

/** The dataset card: YAML front matter the Hub reads (tags, size, data files) and a page a reader can follow. */
export function datasetCard(opts: { repo: string; records: number; tags: string[]; settings: CardSettings; nested: string[]; dataPath: string }): string {
  const s = opts.settings;
  const rows: [string, string | number | undefined][] = [
    ['provider', s.provider],
    ['model', s.model],
    ['conversation type', s.conversationType],
    ['temperature', s.temperature],
    ['topic prompt', s.topicPrompt],
    ['topic mode', s.topicMode],
    ['depth', s.depth],
    ['degree', s.degree],
    ['num_samples', s.numSamples],
    ['samples per call', s.samplesPerCall],
    ['format', s.format],
    ['tokens in / out', s.tokens ? `${s.tokens.input} / ${s.tokens.output}` : undefined],
  ];
  const table = rows.filter(([, v]) => v !== undefined && v !== '').map(([k, v]) => `| ${k} | ${String(v).replace(/\|/g, '\\|').replace(/\n/g, ' ')} |`);
  const front = [
    '---',
    'tags:',
    ...opts.tags.map((t) => `- ${yamlString(t)}`),
    'size_categories:',
    `- ${sizeCategory(opts.records)}`,
    ...(s.model ? ['source_models:', `- ${yamlString(s.model)}`] : []),
    'configs:',
    '- config_name: default',
    '  data_files:',
    '  - split: train',
    `    path: ${opts.dataPath}`,
    '---',
  ];
  const body = [
    `# ${opts.repo.split('/')[1]}`,
    '',
    `A synthetic dataset of ${opts.records} records, generated with deepfabric (durable generation on Temporal).`,
    '',
    ...(table.length ? ['## Generation settings', '', '| setting | value |', '| --- | --- |', ...table, ''] : []),
    ...(opts.nested.length
      ? ['## Columns', '', `${opts.nested.map((f) => `\`${f}\``).join(', ')} hold JSON strings (one schema for every row); parse them with \`json.loads\`.`, '']
      : []),
  ];
  return `${front.join('\n')}\n\n${body.join('\n')}`;
}

/** Uploads a dataset and its card; creates the repository when it does not exist. */
export async function uploadToHub(opts: HubUploadOptions): Promise<HubUploadResult> {
  if (!/^[\w.-]+\/[\w.-]+$/.test(opts.repo)) {
    throw new ConfigurationError(`huggingface.repository: "${opts.repo}" is not owner/name (e.g. "my-user/my-dataset")`);
  }
  if (!opts.token) throw new ConfigurationError('HF_TOKEN: not set; create a write token at https://huggingface.co/settings/tokens and export HF_TOKEN');
  if (!opts.token.startsWith('hf_')) throw new ConfigurationError('HF_TOKEN: a Hugging Face token starts with "hf_"; check the variable');
  const text = await readFile(opts.datasetFile, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new ConfigurationError(err.code === 'ENOENT' ? `${opts.datasetFile} does not exist` : `${opts.datasetFile}: ${err.message}`);
  });
  const lines = text.split('\n').filter((l) => l.trim());
  const nested = new Set<string>();
  const rows = lines.map((line, i) => {
    let record: unknown;
    try {
      record = JSON.parse(line);
    } catch {
      throw new ConfigurationError(`${opts.datasetFile}:${i + 1}: not a JSON line; upload a JSONL dataset`);
    }
    if (typeof record !== 'object' || record === null || Array.isArray(record)) throw new ConfigurationError(`${opts.datasetFile}:${i + 1}: not a JSON object`);
    for (const f of NESTED_FIELDS) if (f in record && typeof (record as Record<string, unknown>)[f] !== 'string') nested.add(f);
    return JSON.stringify(hubRow(record as Record<string, unknown>));
  });
  if (rows.length === 0) throw new ConfigurationError(`${opts.datasetFile} has no records; nothing to upload`);

  const hubUrl = opts.hubUrl ?? process.env.HF_ENDPOINT ?? 'https://huggingface.co';
  const repo = { type: 'dataset' as const, name: opts.repo };
  const credentials = { accessToken: opts.token };
  const dataPath = `data/train${path.extname(opts.datasetFile) || '.jsonl'}`;
  const tags = [...new Set(['deepfabric', 'synthetic', ...(opts.tags ?? [])])];
  const card = datasetCard({ repo: opts.repo, records: rows.length, tags, settings: opts.settings ?? {}, nested: [...nested], dataPath });
  try {
    if (!(await repoExists({ repo, hubUrl, ...credentials }))) await createRepo({ repo, hubUrl, ...credentials });
    const out = await uploadFiles({
      repo,
      hubUrl,
      ...credentials,
      files: [
        { path: dataPath, content: new Blob([`${rows.join('\n')}\n`]) },
        { path: 'README.md', content: new Blob([card]) },
      ],
      commitTitle: `Upload ${rows.length} records`,
      useXet: false,
    });
    return { url: `${hubUrl.replace(/\/$/, '')}/datasets/${opts.repo}`, files: [dataPath, 'README.md'], records: rows.length, commit: out?.commit?.oid };
  } catch (err) {
    const e = err as Error & { statusCode?: number };
    const hint = e.statusCode === 401 || e.statusCode === 403 ? ' (HF_TOKEN needs write access to this repository)' : '';
    throw new DataSetGeneratorError(`upload to ${hubUrl} (${opts.repo}) failed: ${e.message}${hint}`, 'upload_failed', { cause: err });
  }
}
