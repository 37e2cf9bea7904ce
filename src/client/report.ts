/**
 * A run's report (`deepfabric report <run>`): the figures of one dataset run gathered from its run
 * store, for a finished run or one still running. The counts come from the manifest when the run
 * has ended (the run's last word), else from its finished batches' summaries; the distributions
 * (lengths, topics, timeline) and the sample from the shards. Streamed shard by shard; what it keeps
 * is small but the examples' lengths (4 bytes each).
 */
import type { StoredSummary } from '../activities/types';
import type { QualityCounts, QualityNote, QualitySettings } from '../config/quality';
import { addQualityCounts } from '../config/quality';
import { recordText, type DatasetRecord } from '../dataset/example-schemas';
import type { RunData } from '../storage/store';
import type { GenerationStats } from '../workflows/stats';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { DataSetGeneratorError } from '../errors';
import { writeFileAtomic } from '../files';
import { renderReport } from './report-page';

/** Everything the report page shows, as plain JSON (embedded in the page). */
export interface ReportData {
  runId: string;
  name?: string | undefined;
  model?: string | undefined;
  status: string;
  /** Where the counts come from: the manifest of an ended run, or the summaries of the batches finished so far. */
  source: 'manifest' | 'batches';
  generatedAt: string;
  target?: number | undefined;
  /** Records in the dataset (an ended run) or accepted so far. */
  records: number;
  accepted: number;
  requested: number;
  batchesDone: number;
  batchesFailed: number;
  calls: number;
  retries: number;
  inputTokens: number;
  outputTokens: number;
  costUsd?: number | undefined;
  judgeCostUsd?: number | undefined;
  rejected: Record<string, number>;
  errors: Record<string, number>;
  quality?: QualityCounts | undefined;
  judge?: { model: string; rubric: { name: string; description: string; min: number; max: number; minScore?: number | undefined }[] } | undefined;
  topics: { total?: number | undefined; used: number; perPath: { path: string; n: number }[]; unused: string[]; unusedCount: number };
  lengths: { n: number; min: number; median: number; mean: number; max: number; bins: { from: number; to: number; n: number }[] };
  samples: { batch: number; text: string; topic?: string | undefined; note?: QualityNote | undefined }[];
  timeline: { binSeconds: number; bins: { t: number; calls: number; rateLimited: number; retries: number; accepted: number }[] };
}

/** The stats a manifest holds: the run's last `GenerationStats` (older manifests may lack fields). */
type ManifestStats = Partial<GenerationStats>;

const SAMPLES = 8;
const PATHS_SHOWN = 30;
const UNUSED_SHOWN = 50;

/** Gathers a run's report from its store; `numSteps` caps the records read as the dataset does (default: the manifest's target). */
export async function collectReport(runId: string, run: RunData, now = new Date()): Promise<ReportData> {
  const manifest = await run.readManifest();
  const m = (manifest?.stats ?? {}) as ManifestStats;
  const target = typeof manifest?.target === 'number' ? manifest.target : m.target;
  const indices = await run.shardIndices();
  const perPath = new Map<string, number>();
  const lengths: number[] = [];
  const finished: { at: number; latency: number; calls: number; rateLimited: number; retries: number; accepted: number }[] = [];
  // Counts from the summaries, for a run without a manifest.
  const sum = {
    accepted: 0,
    requested: 0,
    calls: 0,
    retries: 0,
    inputTokens: 0,
    outputTokens: 0,
    rejected: {} as Record<string, number>,
    errors: {} as Record<string, number>,
  };
  let quality: QualityCounts | undefined;
  const all: { batch: number; record: unknown; topic?: string[] | undefined; note?: QualityNote | undefined }[] = [];
  let kept = 0;
  for (const batch of indices) {
    const { summary, records } = await run.readShard<StoredSummary>(batch);
    finished.push({
      at: summary.finishedAtMs,
      latency: summary.latencyMs,
      calls: summary.cached ? 0 : (summary.calls ?? summary.attempts),
      rateLimited: summary.errors.rate_limit ?? 0,
      retries: summary.attempts - 1,
      accepted: summary.accepted,
    });
    sum.accepted += summary.accepted;
    sum.requested += summary.requested;
    sum.calls += summary.calls ?? summary.attempts;
    sum.retries += summary.attempts - 1;
    sum.inputTokens += summary.inputTokens;
    sum.outputTokens += summary.outputTokens;
    for (const [k, v] of Object.entries(summary.rejected)) sum.rejected[k] = (sum.rejected[k] ?? 0) + v;
    for (const [k, v] of Object.entries(summary.errors)) sum.errors[k] = (sum.errors[k] ?? 0) + v;
    if (summary.quality) quality = addQualityCounts(quality, summary.quality);
    // The dataset's records: the shards in batch order, up to the target (as assembled).
    const take = target !== undefined ? Math.max(0, Math.min(records.length, target - kept)) : records.length;
    for (let i = 0; i < take; i++) {
      const topic = summary.recordTopics?.[i];
      if (topic) perPath.set(topic.join(' -> '), (perPath.get(topic.join(' -> ')) ?? 0) + 1);
      lengths.push(recordText(records[i] as DatasetRecord).length);
      all.push({ batch, record: records[i], topic, note: summary.recordQuality?.[i] });
    }
    kept += take;
  }
  const stored = await run.readTopics().catch(() => undefined);
  const every = stored ? [...new Set(stored.paths.map((p) => p.join(' -> ')))] : undefined;
  const unused = every ? every.filter((p) => !perPath.has(p)) : [];
  const judge = (manifest?.quality as QualitySettings | undefined)?.judge;
  return {
    runId,
    name: typeof manifest?.name === 'string' ? manifest.name : undefined,
    model: typeof manifest?.model === 'string' ? manifest.model : undefined,
    status: typeof manifest?.status === 'string' ? manifest.status : 'running',
    source: manifest ? 'manifest' : 'batches',
    generatedAt: now.toISOString(),
    target,
    records: typeof manifest?.records === 'number' ? manifest.records : kept,
    accepted: m.accepted ?? sum.accepted,
    requested: m.requested ?? sum.requested,
    batchesDone: m.batchesDone ?? indices.length,
    batchesFailed: m.batchesFailed ?? 0,
    calls: m.calls ?? sum.calls,
    retries: m.retries ?? sum.retries,
    inputTokens: m.inputTokens ?? sum.inputTokens,
    outputTokens: m.outputTokens ?? sum.outputTokens,
    costUsd: m.costUsd,
    judgeCostUsd: m.judgeCostUsd,
    rejected: m.rejected ?? sum.rejected,
    errors: m.errorCategories ?? sum.errors,
    quality: manifest ? m.quality : quality,
    judge: judge && { model: `${judge.model.provider}/${judge.model.model}`, rubric: judge.rubric },
    topics: {
      total: every?.length,
      used: perPath.size,
      perPath: [...perPath.entries()]
        .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
        .slice(0, PATHS_SHOWN)
        .map(([path, n]) => ({ path, n })),
      unused: unused.slice(0, UNUSED_SHOWN),
      unusedCount: unused.length,
    },
    lengths: lengthStats(lengths),
    samples: spread(all, SAMPLES).map((s) => ({
      batch: s.batch,
      text: sampleText(s.record),
      topic: s.topic?.join(' -> '),
      note: s.note ?? ((s.record as { metadata?: { quality?: QualityNote } }).metadata?.quality || undefined),
    })),
    timeline: timeline(finished),
  };
}

/** `n` items spread evenly over `items` (all of them when fewer). */
function spread<T>(items: T[], n: number): T[] {
  if (items.length <= n) return items;
  return Array.from({ length: n }, (_, i) => items[Math.floor((i * items.length) / n)]!);
}

/** A record as the sample shows it: its turns (`role: text`), or its JSON; at most 1,500 characters. */
function sampleText(record: unknown): string {
  const r = record as { messages?: { role: string; content?: unknown }[] };
  const text = Array.isArray(r.messages)
    ? r.messages.map((m) => `${m.role}: ${typeof m.content === 'string' ? m.content : JSON.stringify(m.content ?? '')}`).join('\n')
    : JSON.stringify(record, null, 2);
  return text.length > 1500 ? `${text.slice(0, 1500)}…` : text;
}

/** Characters per example: min, median, mean, max and a histogram of 12 equal bins. */
function lengthStats(lengths: number[]): ReportData['lengths'] {
  if (!lengths.length) return { n: 0, min: 0, median: 0, mean: 0, max: 0, bins: [] };
  const sorted = Float64Array.from(lengths).sort();
  const min = sorted[0]!;
  const max = sorted[sorted.length - 1]!;
  const width = Math.max(1, Math.ceil((max - min + 1) / 12));
  const bins = Array.from({ length: Math.ceil((max - min + 1) / width) }, (_, i) => ({ from: min + i * width, to: min + (i + 1) * width - 1, n: 0 }));
  for (const l of sorted) bins[Math.floor((l - min) / width)]!.n++;
  return {
    n: sorted.length,
    min,
    median: sorted[Math.floor((sorted.length - 1) / 2)]!,
    mean: Math.round(sorted.reduce((a, b) => a + b, 0) / sorted.length),
    max,
    bins,
  };
}

/** Calls, 429s, retries and accepted examples per time bin (about 60 bins over the run), by batch finish time. */
function timeline(finished: { at: number; latency: number; calls: number; rateLimited: number; retries: number; accepted: number }[]): ReportData['timeline'] {
  if (!finished.length) return { binSeconds: 1, bins: [] };
  const start = Math.min(...finished.map((f) => f.at - f.latency));
  const end = Math.max(...finished.map((f) => f.at));
  const niceSeconds = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800, 3600];
  const binSeconds = niceSeconds.find((s) => (end - start) / 1000 / s <= 60) ?? 3600;
  const bins = Array.from({ length: Math.floor((end - start) / 1000 / binSeconds) + 1 }, (_, i) => ({
    t: i * binSeconds,
    calls: 0,
    rateLimited: 0,
    retries: 0,
    accepted: 0,
  }));
  for (const f of finished) {
    const b = bins[Math.floor((f.at - start) / 1000 / binSeconds)]!;
    b.calls += f.calls;
    b.rateLimited += f.rateLimited;
    b.retries += f.retries;
    b.accepted += f.accepted;
  }
  return { binSeconds, bins };
}

/**
 * Writes the report of `runId` (read from `store`) to `out` (default `<dataDir>/runs/<runId>/report.html`)
 * and returns its path; a run with nothing finished yet has no report (`no_dataset`).
 */
export async function writeReport(run: RunData, runId: string, out: string): Promise<{ file: string; data: ReportData }> {
  const data = await collectReport(runId, run);
  if (data.source === 'batches' && data.batchesDone === 0)
    throw new DataSetGeneratorError(`run ${runId} has no finished batch in ${run.location} yet: nothing to report`, 'no_dataset');
  await fs.mkdir(path.dirname(out), { recursive: true });
  await writeFileAtomic(out, renderReport(data));
  return { file: out, data };
}
