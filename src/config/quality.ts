import { z } from 'zod';
import { ModelSpecSchema } from './model-spec';

/**
 * Quality gates of a run, as the workers apply them (`generation.quality` of the run input, so a
 * different gate is a different dataset): validators (does the code in an answer parse, does its
 * JSON, does it match a pattern, does a service of the user's accept it) and a judge model that
 * scores each example on a rubric. Examples that fail are dropped and topped up like filtered ones,
 * or kept and flagged. Contains no secret: it is stored in workflow history.
 */

/** What a validator does with an example that fails it: drop it (the run tops it up) or keep it, flagged in its metadata. */
const ActionSchema = z.enum(['drop', 'flag']);

/** One rubric item: scored from `min` to `max`; an example scoring under `minScore` is rejected (counted as `judge: <name>`). */
export const RubricItemSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z][A-Za-z0-9_]{0,39}$/, 'a name of letters, digits and _ (at most 40), starting with a letter'),
    description: z.string().min(1),
    min: z.number().int().min(0).max(100),
    max: z.number().int().min(1).max(100),
    minScore: z.number().optional(),
  })
  .refine((r) => r.min < r.max, { message: 'scale: the lowest score must be below the highest' })
  .refine((r) => r.minScore === undefined || (r.minScore >= r.min && r.minScore <= r.max), { message: 'min_score: must lie on the scale' });
export type RubricItem = z.infer<typeof RubricItemSchema>;

export const JudgeSettingsSchema = z.object({
  model: ModelSpecSchema,
  rubric: z
    .array(RubricItemSchema)
    .min(1)
    .max(10)
    .refine((r) => new Set(r.map((i) => i.name)).size === r.length, { message: 'rubric: two items have the same name' }),
  temperature: z.number().min(0).max(2),
  maxTokens: z.number().int().positive(),
  /** Dollars per million tokens of the judge model, when known (its cost is counted apart). Not part of the run's identity. */
  price: z.object({ inputPerMTokUsd: z.number().min(0), outputPerMTokUsd: z.number().min(0), source: z.string() }).optional(),
});
export type JudgeSettings = z.infer<typeof JudgeSettingsSchema>;

const named = { name: z.string().min(1).max(40).optional(), action: ActionSchema.default('drop') };
export const ValidatorSchema = z.discriminatedUnion('type', [
  /** Every fenced Python block of the example parses (Python's own parser); with `ruff`, Ruff's default rules pass too. */
  z.object({ type: z.literal('python'), ruff: z.boolean().default(false), ...named }),
  /** Every fenced JSON block parses. */
  z.object({ type: z.literal('json'), ...named }),
  /** The example's text matches `pattern` (JavaScript syntax). */
  z.object({ type: z.literal('regex'), pattern: z.string().min(1), ...named }),
  /** The record is POSTed to `url`, which answers `{ "valid": bool, "reason"?: string }`. */
  z.object({ type: z.literal('http'), url: z.string().url(), timeoutSeconds: z.number().positive().max(600).default(30), ...named }),
]);
export type Validator = z.infer<typeof ValidatorSchema>;

/** A validator's name in stats, manifest and reasons: its own name, or its type. */
export const validatorName = (v: Validator) => v.name ?? v.type;

export const QualitySettingsSchema = z
  .object({
    judge: JudgeSettingsSchema.optional(),
    validators: z.array(ValidatorSchema).max(20).default([]),
  })
  .refine((q) => new Set(q.validators.map(validatorName)).size === q.validators.length, {
    message: 'validators: two have the same name; give one a name',
  });
export type QualitySettings = z.infer<typeof QualitySettingsSchema>;

/** A rubric item as a user writes it: `scale` is the highest score (from 1) or `[lowest, highest]`; default 1 to 5. */
export const RubricItemInputSchema = z
  .object({
    name: z.string(),
    description: z.string(),
    scale: z.union([z.number().int(), z.tuple([z.number().int(), z.number().int()])]).default(5),
    minScore: z.number().optional(),
  })
  .strict();

/** The library's quality options (`quality` of `new DataSetGenerator`, `setJudge`, `addValidator`). */
export const QualityOptionsSchema = z
  .object({
    judge: z
      .object({
        /** `provider/model` of the judge; default the generator's model. */
        modelName: z.string().min(1).optional(),
        provider: z.string().min(1).optional(),
        baseUrl: z.string().url().optional(),
        rubric: z.array(RubricItemInputSchema).min(1),
        /** The minimum of every rubric item without its own. */
        minScore: z.number().optional(),
        temperature: z.number().min(0).max(2).default(0),
        maxTokens: z.number().int().positive().default(1024),
        price: z
          .object({ inputPerMTokUsd: z.number().min(0), outputPerMTokUsd: z.number().min(0) })
          .strict()
          .optional(),
      })
      .strict()
      .optional(),
    validators: z.array(ValidatorSchema).default([]),
  })
  .strict();
export type QualityOptions = z.output<typeof QualityOptionsSchema>;
export type QualityOptionsInput = z.input<typeof QualityOptionsSchema>;

/** What the quality gates said of one kept example: the judge's scores and the validators it failed (action flag). */
export const QualityNoteSchema = z.object({
  scores: z.record(z.string(), z.number()).optional(),
  /** The judge's reason, cut to 300 characters. */
  reason: z.string().optional(),
  /** Validators the example failed and was kept for (`action: flag`), with why. */
  flags: z.record(z.string(), z.string()).optional(),
});
export type QualityNote = z.infer<typeof QualityNoteSchema>;

/**
 * What the quality gates of a batch did, in its summary (small: counts only): judge calls and their
 * tokens (counted apart from the generator's), the judge's scores as a histogram per criterion
 * (score -> examples, every judged example), and each validator's passes and failures.
 */
export const QualityCountsSchema = z.object({
  judgeCalls: z.number().int().optional(),
  judgeInputTokens: z.number().optional(),
  judgeOutputTokens: z.number().optional(),
  scores: z.record(z.string(), z.record(z.string(), z.number())).optional(),
  validators: z.record(z.string(), z.object({ passed: z.number().int(), failed: z.number().int() })).optional(),
});
export type QualityCounts = z.infer<typeof QualityCountsSchema>;

/** `into` plus `from` (histograms and validator counts summed); pure, used by workers and the workflow's stats alike. */
export function addQualityCounts(into: QualityCounts | undefined, from: QualityCounts): QualityCounts {
  const out: QualityCounts = { ...into };
  if (from.judgeCalls) out.judgeCalls = (out.judgeCalls ?? 0) + from.judgeCalls;
  if (from.judgeInputTokens) out.judgeInputTokens = (out.judgeInputTokens ?? 0) + from.judgeInputTokens;
  if (from.judgeOutputTokens) out.judgeOutputTokens = (out.judgeOutputTokens ?? 0) + from.judgeOutputTokens;
  if (from.scores) {
    const scores = { ...out.scores };
    for (const [criterion, hist] of Object.entries(from.scores)) {
      const h = { ...scores[criterion] };
      for (const [score, n] of Object.entries(hist)) h[score] = (h[score] ?? 0) + n;
      scores[criterion] = h;
    }
    out.scores = scores;
  }
  if (from.validators) {
    const v = { ...out.validators };
    for (const [name, c] of Object.entries(from.validators)) {
      const had = v[name] ?? { passed: 0, failed: 0 };
      v[name] = { passed: had.passed + c.passed, failed: had.failed + c.failed };
    }
    out.validators = v;
  }
  return out;
}
