/**
 * A call's examples through the run's quality gates, after their schema and content filters: the
 * validators first (no model: cheap), then the judge model, one call per example still kept. The
 * call's progress is checkpointed after the validators and after each judge call, so a retry (a
 * killed worker, a failed judge call) resumes at the next unjudged example: neither the generation
 * call nor a judge call is paid twice. An example that fails a `drop` validator or scores under a
 * rubric minimum is rejected by reason (`validator: python`, `judge: correctness`), and the run tops
 * it up like a filtered one.
 */
import { validatorName, type QualityCounts, type QualityNote, type QualitySettings } from '../config/quality';
import { failedCriterion, judgeJsonSchema, judgePrompt, readJudgeAnswer } from '../dataset/judge';
import { recordText, type DatasetRecord } from '../dataset/example-schemas';
import { runValidators } from '../dataset/validators';
import { ModelError } from '../errors';
import type { GenerateResult } from '../llm/provider';
import type { CallOutcome, QualityProgress } from './types';

/** Where a call's quality progress is checkpointed: call records past the batch's own (agent progress is at 1000, provider batches at 2000/3000). */
export const QUALITY_PROGRESS_KEY = 4000;

export interface QualityGateParts {
  quality: QualitySettings;
  /** The call's progress from an earlier attempt, if any (its outcome is then the one to judge). */
  saved: QualityProgress | undefined;
  save(progress: QualityProgress): Promise<void>;
  /** One judge call (paced and failing as a model call of the batch does). */
  judge(prompt: string, jsonSchema: Record<string, unknown>, index: number): Promise<GenerateResult>;
  signal?: AbortSignal;
}

/** Whether a run's quality settings gate anything. */
export const hasGates = (q: QualitySettings | undefined): q is QualitySettings => q !== undefined && (q.judge !== undefined || q.validators.length > 0);

/** The call's outcome after its quality gates: kept records with their quality notes, rejections by reason, the gates' counts. */
export async function passQualityGates(outcome: CallOutcome, p: QualityGateParts): Promise<CallOutcome> {
  const progress = p.saved ?? { outcome: await validate(outcome, p.quality, p.signal), judged: [] };
  const judge = p.quality.judge;
  if (!judge) return progress.outcome;
  // Checkpointed before the first judge call is paid for (a retry then neither generates nor validates again).
  if (!p.saved) await p.save(progress);
  const o = progress.outcome;
  for (let i = progress.judged.length; i < o.records.length; i++) {
    const result = await p.judge(judgePrompt(judge.rubric, o.records[i], o.topics?.[i] ?? []), judgeJsonSchema(judge.rubric), i);
    const answer = readJudgeAnswer(judge.rubric, result.object);
    if (typeof answer === 'string') {
      throw new ModelError(`${judge.model.provider}/${judge.model.model}: ${answer}`, {
        category: 'validation_error',
        provider: judge.model.provider,
        usage: result.usage,
      });
    }
    progress.judged.push({ ...answer, inputTokens: result.usage.inputTokens, outputTokens: result.usage.outputTokens });
    await p.save(progress);
  }
  return judged(progress, judge.rubric);
}

/** The validators' verdicts applied: a `drop` failure rejects the example (the first such validator names the reason), a `flag` failure notes it. */
async function validate(outcome: CallOutcome, q: QualitySettings, signal?: AbortSignal): Promise<CallOutcome> {
  if (!q.validators.length) return { ...outcome, quality: outcome.records.map(() => ({})) };
  const verdicts = await runValidators(
    q.validators,
    outcome.records.map((r) => ({ text: recordText(r as DatasetRecord), record: r })),
    signal,
  );
  const rejected = { ...outcome.rejected };
  const counts: NonNullable<QualityCounts['validators']> = {};
  const records: unknown[] = [];
  const topics: string[][] = [];
  const notes: QualityNote[] = [];
  outcome.records.forEach((record, i) => {
    let dropped: string | undefined;
    const flags: Record<string, string> = {};
    q.validators.forEach((v, k) => {
      const name = validatorName(v);
      const why = verdicts[k]![i];
      const c = (counts[name] ??= { passed: 0, failed: 0 });
      if (why === undefined) c.passed++;
      else {
        c.failed++;
        if (v.action === 'drop') dropped ??= name;
        else flags[name] = why;
      }
    });
    if (dropped) {
      rejected[`validator: ${dropped}`] = (rejected[`validator: ${dropped}`] ?? 0) + 1;
      return;
    }
    const note: QualityNote = Object.keys(flags).length ? { flags } : {};
    records.push(withQuality(record, note));
    if (outcome.topics) topics.push(outcome.topics[i]!);
    notes.push(note);
  });
  return { ...outcome, records, ...(outcome.topics ? { topics } : {}), rejected, quality: notes, qualityCounts: { validators: counts } };
}

/** The judged outcome: examples under a minimum rejected by criterion, the rest noted with their scores; every judged example in the histograms. */
function judged(progress: QualityProgress, rubric: NonNullable<QualitySettings['judge']>['rubric']): CallOutcome {
  const o = progress.outcome;
  const rejected = { ...o.rejected };
  const scores: Record<string, Record<string, number>> = {};
  const records: unknown[] = [];
  const topics: string[][] = [];
  const notes: QualityNote[] = [];
  let inputTokens = 0;
  let outputTokens = 0;
  progress.judged.forEach((j, i) => {
    inputTokens += j.inputTokens;
    outputTokens += j.outputTokens;
    for (const [criterion, score] of Object.entries(j.scores)) {
      const h = (scores[criterion] ??= {});
      h[String(score)] = (h[String(score)] ?? 0) + 1;
    }
    const failed = failedCriterion({ rubric }, j.scores);
    if (failed) {
      rejected[`judge: ${failed}`] = (rejected[`judge: ${failed}`] ?? 0) + 1;
      return;
    }
    const note: QualityNote = { ...o.quality?.[i], scores: j.scores, reason: j.reason };
    records.push(withQuality(o.records[i], note));
    if (o.topics) topics.push(o.topics[i]!);
    notes.push(note);
  });
  return {
    ...o,
    records,
    ...(o.topics ? { topics } : {}),
    rejected,
    quality: notes,
    qualityCounts: { ...o.qualityCounts, judgeCalls: progress.judged.length, judgeInputTokens: inputTokens, judgeOutputTokens: outputTokens, scores },
  };
}

/**
 * A record with its quality note in `metadata.quality` (DeepFabric's records carry a free `metadata`
 * object); a record without one (custom records) is written as it is, its note kept beside it in the shard.
 */
export function withQuality(record: unknown, note: QualityNote): unknown {
  const r = record as Record<string, unknown>;
  if (!r || typeof r.metadata !== 'object' || r.metadata === null || (!note.scores && !note.flags)) return record;
  return { ...r, metadata: { ...(r.metadata as Record<string, unknown>), quality: note } };
}
