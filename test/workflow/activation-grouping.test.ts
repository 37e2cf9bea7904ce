/**
 * The chaos run's nondeterminism (issue 8): the commands of one workflow task must not depend on
 * how its events were grouped into activations. The same completion events are handed to the
 * workflow once in one activation and once split in two (what a worker that answered a query
 * before its first task does); the commands, concatenated, must be the same. The code that broke
 * this rule (memo upserts in each batch's `finally`, scheduling from a `condition()` loop) gave
 * "6 memos, 6 schedules" in one activation and "3 memos, 3 schedules, 3 memos, 3 schedules" split.
 */
import os from 'node:os';
import path from 'node:path';
import { GeneratorOptionsSchema } from '../../src/config/generator-options';
import { buildRunPlan, type GeneratorState } from '../../src/client/run-builder';
import { DEFAULT_TEMPLATES } from '../../src/prompts/template';
import type { BatchSummary } from '../../src/activities/types';
import { topicPaths } from '../support/fixtures';
import { activityCompleted, activityFailed, describeCommand, disposeHarness, HandDrivenWorkflow, signal } from '../support/workflow-harness';

const workflowsPath = require.resolve('../../src/workflows');
const state: GeneratorState = { templates: { ...DEFAULT_TEMPLATES }, activeTemplate: 'default', customTemplate: undefined, namedFilters: [] };

/** A run's input: one batch per slice unless asked (so one completion is one batch). */
function runInput(numSteps: number, concurrency: number, batchesPerSlice = 1) {
  const opts = GeneratorOptionsSchema.parse({ modelName: 'openai/gpt-4o-mini', concurrency, batchesPerSlice });
  const plan = buildRunPlan(opts, state, { numSteps, batchSize: 1, topics: topicPaths(numSteps) } as never, path.join(os.tmpdir(), 'grouping'));
  return { ...plan, storeId: 'test-store' };
}

const summary = (batchIndex: number): BatchSummary => ({
  batchIndex,
  requested: 1,
  accepted: 1,
  rejected: {},
  errors: {},
  attempts: 1,
  inputTokens: 10,
  outputTokens: 20,
  latencyMs: 5,
  finishedAtMs: 1_000 + batchIndex,
  cached: false,
});

type Job = Parameters<HandDrivenWorkflow['activate']>[0][number];

/** Starts the workflow, then feeds `groups` (each one activation) and returns every command after the start. */
async function drive(groups: Job[][], numSteps = 24, concurrency = 6, batchesPerSlice = 1): Promise<{ first: string[]; rest: string[] }> {
  const { wf, commands } = await HandDrivenWorkflow.start(workflowsPath, 'datasetRunWorkflow', [runInput(numSteps, concurrency, batchesPerSlice)]);
  const rest: string[] = [];
  for (const jobs of groups) rest.push(...(await wf.activate(jobs)).map(describeCommand));
  await wf.dispose();
  return { first: commands.map(describeCommand), rest };
}

/** Slice `seq` (one batch: index seq - 1) completed. */
const completions = (seqs: number[]) => seqs.map((s) => activityCompleted(s, { batches: [{ batchIndex: s - 1, summary: summary(s - 1) }] }));
const inputOf = (c: { scheduleActivity?: { arguments?: { data?: Uint8Array | null }[] | null } | null }) =>
  JSON.parse(Buffer.from(c.scheduleActivity!.arguments![0]!.data!).toString('utf8'));

afterAll(() => disposeHarness());

/** Six slots raised to eight in an activation with three completions: each completion refills its slot, then the raise opens two more. */
const RAISED_TO_EIGHT = [
  'memo',
  'schedule generateSlice #7',
  'memo',
  'schedule generateSlice #8',
  'memo',
  'schedule generateSlice #9',
  'schedule generateSlice #10',
  'schedule generateSlice #11',
];

describe('commands do not depend on how events are grouped into activations', () => {
  it('the first task schedules one wave of `concurrency` slices, and nothing else (no patch marker: one workflow version)', async () => {
    const { first } = await drive([]);
    expect(first).toEqual([1, 2, 3, 4, 5, 6].map((s) => `schedule generateSlice #${s}`));
  });

  it('six completions in one activation or split 3 + 3 give the same commands', async () => {
    const whole = await drive([completions([1, 2, 3, 4, 5, 6])]);
    const split = await drive([completions([1, 2, 3]), completions([4, 5, 6])]);
    expect(split.rest).toEqual(whole.rest);
    // Each completion publishes progress and starts the next slice, in event order.
    expect(whole.rest.slice(0, 4)).toEqual(['memo', 'schedule generateSlice #7', 'memo', 'schedule generateSlice #8']);
    expect(whole.rest.filter((c) => c.startsWith('schedule'))).toEqual([7, 8, 9, 10, 11, 12].map((s) => `schedule generateSlice #${s}`));
  });

  it("an activation's signals take effect after its completions: in history order, sorted first (as core hands them over), or split after the completions", async () => {
    const events: Job[] = [...completions([1, 2]), activityFailed(3, 'server_error'), signal('pause'), ...completions([4, 5])];
    const sortedFirst: Job[] = [signal('pause'), ...completions([1, 2]), activityFailed(3, 'server_error'), ...completions([4, 5])];
    const whole = await drive([events]);
    expect((await drive([sortedFirst])).rest).toEqual(whole.rest);
    // The split a query makes when the signal arrived after the completions it applied.
    expect((await drive([[...completions([1, 2]), activityFailed(3, 'server_error'), ...completions([4, 5])], [signal('pause')]])).rest).toEqual(whole.rest);
    // Every completion of the activation refilled its slot; the pause holds the next ones, until the resume.
    expect(whole.rest.filter((c) => c.startsWith('schedule'))).toHaveLength(5);
    const paused = await drive([events, completions([6]), [signal('resume')]]);
    expect(paused.rest.slice(whole.rest.length)).toEqual(['memo', 'schedule generateSlice #12']);
  });

  it('the applySettings signal takes effect after the completions delivered with it, sorted first or not', async () => {
    const events: Job[] = [...completions([1, 2]), signal('applySettings', { concurrency: 8 }), ...completions([3])];
    const whole = await drive([events]);
    expect((await drive([[signal('applySettings', { concurrency: 8 }), ...completions([1, 2, 3])]])).rest).toEqual(whole.rest);
    expect((await drive([completions([1, 2, 3]), [signal('applySettings', { concurrency: 8 })]])).rest).toEqual(whole.rest);
    expect(whole.rest).toEqual(RAISED_TO_EIGHT);
    // A bad patch (the client checks first) is ignored: no slot opens.
    const bad = await drive([[...completions([1]), signal('applySettings', { concurrency: 0 }), ...completions([2])]]);
    expect(bad.rest.filter((c) => c.startsWith('schedule'))).toEqual(['schedule generateSlice #7', 'schedule generateSlice #8']);
  });

  it('applySettings: slices started after it get the new retry policy and request timeout; earlier ones keep theirs', async () => {
    const { wf, commands } = await HandDrivenWorkflow.start(workflowsPath, 'datasetRunWorkflow', [runInput(24, 2)]);
    const attempts = (cmds: typeof commands) => cmds.filter((c) => c.scheduleActivity).map((c) => c.scheduleActivity!.retryPolicy!.maximumAttempts);
    expect(attempts(commands)).toEqual([4, 4]); // maxRetries 3 by default
    const retry = { maxRetries: 7, backoffMultiplier: 2, initialBackoffSeconds: 1, maxBackoffSeconds: 10, retryOnErrors: ['server_error'] };
    const after = await wf.activate([signal('applySettings', { concurrency: 3, retry, requestTimeoutSeconds: 90 }), ...completions([1])]);
    await wf.dispose();
    // The completion refills its slot first (the old policy); then the signal opens a third slot under the new one.
    expect(attempts(after)).toEqual([4, 8]);
    const scheduled = after.filter((c) => c.scheduleActivity);
    expect(inputOf(scheduled[0]!)).toMatchObject({ generation: { requestTimeoutSeconds: 60 } }); // the default
    expect(inputOf(scheduled[1]!)).toMatchObject({ generation: { requestTimeoutSeconds: 90 }, retryOnErrors: ['server_error'] });
  });
});

describe('slices of several batches', () => {
  // 48 batches, 6 slots, at most 4 per slice: slice k holds batches 4(k-1) .. 4k-1.
  const sliceOf = (seq: number) => [0, 1, 2, 3].map((i) => (seq - 1) * 4 + i);
  const sliceDone = (seq: number) => activityCompleted(seq, { batches: sliceOf(seq).map((b) => ({ batchIndex: b, summary: summary(b) })) });
  /** Slice `seq` failed after its last attempt; it had finished all but its last batch, which failed with a 500. */
  const sliceFailed = (seq: number) => {
    const batches = sliceOf(seq).map((b, i) =>
      i < 3
        ? { batchIndex: b, summary: summary(b) }
        : { batchIndex: b, failure: { category: 'server_error', message: 'HTTP 500', nonRetryable: false, details: { attempts: 4 } } },
    );
    return activityFailed(seq, 'server_error', '1 of 4 batches failed', [{ attempts: 4 }, { batches }]);
  };
  const driveSliced = (groups: Job[][]) => drive(groups, 48, 6, 4);

  it('the first task schedules one slice per slot, each with its share of the batches, under the run retry policy', async () => {
    const { wf, commands } = await HandDrivenWorkflow.start(workflowsPath, 'datasetRunWorkflow', [runInput(48, 6, 4)]);
    await wf.dispose();
    expect(commands.map(describeCommand)).toEqual([1, 2, 3, 4, 5, 6].map((s) => `schedule generateSlice #${s}`));
    expect(inputOf(commands[0]!).batches.map((b: { batchIndex: number }) => b.batchIndex)).toEqual([0, 1, 2, 3]);
    expect(inputOf(commands[5]!).batches.map((b: { batchIndex: number }) => b.batchIndex)).toEqual([20, 21, 22, 23]);
    expect(inputOf(commands[0]!).callsInFlight).toBe(1);
    // The slice reads the same policy Temporal applies: what it may retry is what the policy retries.
    const policy = commands[0]!.scheduleActivity!.retryPolicy!;
    expect(policy.maximumAttempts).toBe(4);
    for (const category of inputOf(commands[0]!).retryOnErrors) expect(policy.nonRetryableErrorTypes).not.toContain(category);
    expect(policy.nonRetryableErrorTypes).toEqual(expect.arrayContaining(['auth_error', 'bad_request', 'unreachable', 'configuration_error']));
  });

  it("a slice that failed after Temporal's retries: its finished batches count, the failed one counts as failed, the slot goes on; same commands in any split", async () => {
    const events: Job[] = [sliceDone(1), sliceFailed(2), signal('pause'), sliceDone(3), signal('resume')];
    const whole = await driveSliced([events]);
    for (let cut = 1; cut < events.length; cut++) {
      const split = await driveSliced([events.slice(0, cut), events.slice(cut)]);
      expect({ cut, rest: split.rest }).toEqual({ cut, rest: whole.rest });
    }
    // Slices 1 and 2 refill their slots; the pause holds slice 3's until the resume.
    expect(whole.rest.filter((c) => c.startsWith('schedule'))).toEqual(['schedule generateSlice #7', 'schedule generateSlice #8', 'schedule generateSlice #9']);
  });
});
