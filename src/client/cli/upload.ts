/** `upload-hf`, and the push that follows a completed `generate` whose config has a `huggingface` section. */
import path from 'node:path';
import { fail, program } from './common';
import { parseModelName } from '../../config/model-spec';
import { loadYamlConfig, type YamlConfig } from '../../config/yaml-config';
import { ConfigurationError } from '../../errors';
import { uploadToHub, type CardSettings } from '../../dataset/hub-upload';

/** What the card says about how the data was made: the config's model and settings, never a key or an endpoint. */
function cardSettings(cfg: YamlConfig, tokens?: { input: number; output: number }): CardSettings {
  const spec = parseModelName(cfg.llm.model, cfg.llm.provider, cfg.llm.base_url);
  return {
    provider: spec.ok ? spec.spec.provider : cfg.llm.provider,
    model: spec.ok ? spec.spec.model : cfg.llm.model,
    conversationType: cfg.generation.conversation.type,
    temperature: cfg.llm.temperature,
    topicPrompt: cfg.topics.prompt,
    topicMode: cfg.topics.prompt ? cfg.topics.mode : undefined,
    depth: cfg.topics.prompt ? cfg.topics.depth : undefined,
    degree: cfg.topics.prompt ? cfg.topics.degree : undefined,
    numSamples: cfg.output.num_samples,
    samplesPerCall: cfg.output.samples_per_call,
    format: cfg.output.format,
    tokens,
  };
}

/** Pushes a completed run's dataset to the config's Hub repo; without HF_TOKEN, says how to push it later. */
export async function pushAfterRun(cfg: YamlConfig, datasetFile: string, tokens: { input: number; output: number }): Promise<void> {
  const hf = cfg.huggingface;
  if (!hf) return;
  const later = `deepfabric upload-hf ${path.relative(process.cwd(), datasetFile)} --repo ${hf.repository}${hf.tags.length ? ` --tags ${hf.tags.join(' ')}` : ''}`;
  if (!process.env.HF_TOKEN) {
    process.stderr.write(`huggingface: HF_TOKEN is not set, so the dataset was not pushed; push it with: HF_TOKEN=hf_... ${later}\n`);
    return;
  }
  try {
    const out = await uploadToHub({ repo: hf.repository, token: process.env.HF_TOKEN, datasetFile, tags: hf.tags, settings: cardSettings(cfg, tokens) });
    process.stdout.write(`pushed ${out.records} records and a dataset card to ${out.url}\n`);
  } catch (err) {
    throw new ConfigurationError(`${(err as Error).message}; the dataset is saved in ${datasetFile}; push it again with: ${later}`);
  }
}

program
  .command('upload-hf')
  .argument('<dataset>', 'JSONL dataset file')
  .requiredOption('--repo <owner/name>', 'Hugging Face dataset repository (created when missing)')
  .option('--tags <tags...>', 'tags for the dataset card (deepfabric and synthetic are always there)')
  .option('--config <yaml>', 'the config that made the dataset: its model and settings go into the card')
  .option('--token <token>', 'a Hugging Face token (default HF_TOKEN)')
  .description('push a dataset and its card (README.md) to the Hugging Face Hub (HF_TOKEN; HF_ENDPOINT for another Hub)')
  .action(async (dataset: string, o: { repo: string; tags?: string[]; config?: string; token?: string }) => {
    try {
      const cfg = o.config ? await loadYamlConfig(o.config) : undefined;
      const out = await uploadToHub({
        repo: o.repo,
        token: o.token ?? process.env.HF_TOKEN ?? '',
        datasetFile: path.resolve(dataset),
        tags: [...(cfg?.huggingface?.tags ?? []), ...(o.tags ?? [])],
        ...(cfg ? { settings: cardSettings(cfg) } : {}),
      });
      process.stdout.write(`pushed ${out.records} records and a dataset card to ${out.url}\n  files: ${out.files.join(', ')}\n`);
    } catch (err) {
      fail(err);
    }
  });
