/**
 * The chaos run's nondeterminism (issue 8): the commands of one workflow task must not depend on
 * how its events were grouped into activations. The same completion events are handed to the
 * workflow once in one activation and once split in two (what a worker that answered a query
 * before its first task does); the commands, concatenated, must be the same. Version 1 of the
 * dataset run is driven the same way and must differ: that is the bug, reproduced without a server.
 */
import os from 'node:os';
import path from 'node:path';
import { GeneratorOptionsSchema } from '../../src/config/generator-options';
import { buildRunInput, type GeneratorState } from '../../src/client/run-builder';
import { DEFAULT_TEMPLATES } from '../../src/prompts/template';
import type { BatchSummary } from '../../src/activities/types';
import { topicPaths } from '../support/fixtures';
import { activityCompleted, activityFailed, describeCommand, disposeHarness, HandDrivenWorkflow, signal, update } from '../support/workflow-harness';

const workflowsPath = require.resolve('../support/legacy-workflows');
const state: GeneratorState = { templates: { ...DEFAULT_TEMPLATES }, activeTemplate: 'default', customTemplate: undefined, namedFilters: [] };

/** A run's input; without slices unless asked (runs started before slices schedule one generateBatch per batch). */
function runInput(numSteps: number, concurrency: number, sliced = false) {
  const opts = GeneratorOptionsSchema.parse({ modelName: 'openai/gpt-4o-mini', concurrency });
  const { batchesPerSlice, ...input } = buildRunInput(
    opts,
    state,
    { numSteps, batchSize: 1, topics: topicPaths(numSteps) } as never,
    path.join(os.tmpdir(), 'grouping'),
  );
  return sliced ? { ...input, batchesPerSlice } : input;
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
async function drive(workflowType: string, groups: Job[][], numSteps = 24, concurrency = 6, sliced = false): Promise<{ first: string[]; rest: string[] }> {
  const { wf, commands } = await HandDrivenWorkflow.start(workflowsPath, workflowType, [runInput(numSteps, concurrency, sliced)]);
  const rest: string[] = [];
  for (const jobs of groups) rest.push(...(await wf.activate(jobs)).map(describeCommand));
  await wf.dispose();
  return { first: commands.map(describeCommand), rest };
}

const completions = (seqs: number[]) => seqs.map((s) => activityCompleted(s, summary(s - 1)));

afterAll(() => disposeHarness());

/** Six slots raised to eight between completions 2 and 3: two completions refill their slots, the raise opens two more, the third completion refills its own. */
const RAISED_TO_EIGHT = [
  'memo',
  'schedule generateBatch #7',
  'memo',
  'schedule generateBatch #8',
  'schedule generateBatch #9',
  'schedule generateBatch #10',
  'memo',
  'schedule generateBatch #11',
];

describe('commands do not depend on how events are grouped into activations', () => {
  it('the first task schedules one wave of `concurrency` batches (and marks the patch)', async () => {
    const { first } = await drive('datasetRunWorkflow', []);
    expect(first).toEqual([
      'patch completion-driven-scheduling',
      'patch top-up-by-acceptance',
      ...[1, 2, 3, 4, 5, 6].map((s) => `schedule generateBatch #${s}`),
    ]);
  });

  it('six completions in one activation or split 3 + 3 give the same commands', async () => {
    const whole = await drive('datasetRunWorkflow', [completions([1, 2, 3, 4, 5, 6])]);
    const split = await drive('datasetRunWorkflow', [completions([1, 2, 3]), completions([4, 5, 6])]);
    expect(split.rest).toEqual(whole.rest);
    // Each completion publishes progress and starts the next batch, in event order.
    expect(whole.rest.slice(0, 4)).toEqual(['memo', 'schedule generateBatch #7', 'memo', 'schedule generateBatch #8']);
    expect(whole.rest.filter((c) => c.startsWith('schedule'))).toEqual([7, 8, 9, 10, 11, 12].map((s) => `schedule generateBatch #${s}`));
  });

  it('a failure, a pause and a resume among the completions: same commands in any split', async () => {
    const events: Job[] = [
      ...completions([1, 2]),
      activityFailed(3, 'server_error'),
      signal('pause'),
      ...completions([4, 5]),
      signal('resume'),
      ...completions([6]),
    ];
    const whole = await drive('datasetRunWorkflow', [events]);
    for (const cut of [1, 3, 4, 5, 6]) {
      const split = await drive('datasetRunWorkflow', [events.slice(0, cut), events.slice(cut)]);
      expect({ cut, rest: split.rest }).toEqual({ cut, rest: whole.rest });
    }
    // While paused nothing is scheduled; the resume refills all free slots at its place in the order.
    const schedules = whole.rest.filter((c) => c.startsWith('schedule'));
    expect(schedules).toHaveLength(6);
  });

  it('a concurrency update between completions takes effect at its place in the order, in any split', async () => {
    const events: Job[] = [...completions([1, 2]), update('setConcurrency', 'u1', 8), ...completions([3])];
    const whole = await drive('datasetRunWorkflow', [events]);
    for (const cut of [1, 2, 3]) {
      const split = await drive('datasetRunWorkflow', [events.slice(0, cut), events.slice(cut)]);
      // The SDK places the update's own accept/complete responses; the workflow's commands are compared.
      const own = (cmds: string[]) => cmds.filter((c) => !c.startsWith('update'));
      expect({ cut, rest: own(split.rest) }).toEqual({ cut, rest: own(whole.rest) });
    }
    expect(whole.rest.filter((c) => !c.startsWith('update'))).toEqual(RAISED_TO_EIGHT);
    expect(whole.rest).toEqual(expect.arrayContaining(['update u1 accepted', 'update u1 completed']));
  });

  it('the applySettings signal (what the client sends) takes effect at its place in the order, in any split', async () => {
    const events: Job[] = [...completions([1, 2]), signal('applySettings', { concurrency: 8 }), ...completions([3])];
    const whole = await drive('datasetRunWorkflow', [events]);
    for (const cut of [1, 2, 3]) {
      const split = await drive('datasetRunWorkflow', [events.slice(0, cut), events.slice(cut)]);
      expect({ cut, rest: split.rest }).toEqual({ cut, rest: whole.rest });
    }
    expect(whole.rest).toEqual(RAISED_TO_EIGHT);
    // A bad patch (the client checks first) is ignored: no slot opens.
    const bad = await drive('datasetRunWorkflow', [[...completions([1]), signal('applySettings', { concurrency: 0 }), ...completions([2])]]);
    expect(bad.rest.filter((c) => c.startsWith('schedule'))).toEqual(['schedule generateBatch #7', 'schedule generateBatch #8']);
  });

  it('updateSettings: later batches get the new retry policy and request timeout; earlier ones keep theirs', async () => {
    const { wf, commands } = await HandDrivenWorkflow.start(workflowsPath, 'datasetRunWorkflow', [runInput(24, 2)]);
    const attempts = (cmds: typeof commands) => cmds.filter((c) => c.scheduleActivity).map((c) => c.scheduleActivity!.retryPolicy!.maximumAttempts);
    expect(attempts(commands)).toEqual([4, 4]); // maxRetries 3 by default
    const retry = { maxRetries: 7, backoffMultiplier: 2, initialBackoffSeconds: 1, maxBackoffSeconds: 10, retryOnErrors: ['server_error'] };
    const after = await wf.activate([update('updateSettings', 'u2', { concurrency: 3, retry, requestTimeoutSeconds: 90 }), ...completions([1])]);
    await wf.dispose();
    // The update opens a third slot, the completion refills its own: both under the new policy.
    expect(attempts(after)).toEqual([8, 8]);
    const scheduled = after.filter((c) => c.scheduleActivity);
    const input = JSON.parse(Buffer.from(scheduled[0]!.scheduleActivity!.arguments![0]!.data!).toString('utf8'));
    expect(input.generation.requestTimeoutSeconds).toBe(90);
  });

  it('version 1 gives different commands for the same events split differently (the chaos bug)', async () => {
    const whole = await drive('legacyDatasetRunWorkflow', [completions([1, 2, 3, 4, 5, 6])]);
    const split = await drive('legacyDatasetRunWorkflow', [completions([1, 2, 3]), completions([4, 5, 6])]);
    expect(split.rest).not.toEqual(whole.rest);
    // The shape the chaos history recorded: upserts batched ahead of the schedules of each activation.
    const memos = (n: number) => Array.from({ length: n }, () => 'memo');
    const schedules = (from: number, n: number) => Array.from({ length: n }, (_, i) => `schedule generateBatch #${from + i}`);
    expect(whole.rest).toEqual([...memos(6), ...schedules(7, 6)]);
    expect(split.rest).toEqual([...memos(3), ...schedules(7, 3), ...memos(3), ...schedules(10, 3)]);
  });
});

describe('slices: the same rule, with batches retried on their own after a timer', () => {
  // 48 batches, 6 slots: slices of 4 batches (slice k holds batches 4(k-1) .. 4k-1).
  const sliceDone = (seq: number, failed: number[] = []) =>
    activityCompleted(seq, {
      batches: [0, 1, 2, 3].map((i) => {
        const b = (seq - 1) * 4 + i;
        return failed.includes(b)
          ? { batchIndex: b, failure: { category: 'server_error', message: 'HTTP 500', nonRetryable: false, details: {} } }
          : { batchIndex: b, summary: summary(b) };
      }),
    });
  const driveSliced = (groups: Job[][]) => drive('datasetRunWorkflow', groups, 48, 6, true);

  it('the first task schedules one slice per slot, each with its share of the batches', async () => {
    const { wf, commands } = await HandDrivenWorkflow.start(workflowsPath, 'datasetRunWorkflow', [runInput(48, 6, true)]);
    await wf.dispose();
    expect(commands.map(describeCommand)).toEqual([
      'patch completion-driven-scheduling',
      'patch top-up-by-acceptance',
      ...[1, 2, 3, 4, 5, 6].map((s) => `schedule generateSlice #${s}`),
    ]);
    // Commands 0 and 1 are the patch markers; slice k is command k + 1.
    const inputOf = (slice: number) => JSON.parse(Buffer.from(commands[slice + 1]!.scheduleActivity!.arguments![0]!.data!).toString('utf8'));
    expect(inputOf(1).batches.map((b: { batchIndex: number }) => b.batchIndex)).toEqual([0, 1, 2, 3]);
    expect(inputOf(6).batches.map((b: { batchIndex: number }) => b.batchIndex)).toEqual([20, 21, 22, 23]);
    expect(inputOf(1).callsInFlight).toBe(1);
  });

  it('a failed batch of a slice is retried alone in the next free slot, before new work; same commands in any split', async () => {
    const events: Job[] = [sliceDone(1), sliceDone(2, [5]), signal('pause'), sliceDone(3), signal('resume')];
    const retried = [activityCompleted(8, summary(5))]; // batch 5 alone, scheduled by slice 2's completion
    const whole = await driveSliced([events, retried]);
    for (let cut = 1; cut < events.length; cut++) {
      const split = await driveSliced([events.slice(0, cut), events.slice(cut), retried]);
      expect({ cut, rest: split.rest }).toEqual({ cut, rest: whole.rest });
    }
    // Slice 1 refills its slot; slice 2's slot goes to batch 5 alone; the pause holds slice 3's slot
    // until the resume; batch 5's completion refills its slot.
    expect(whole.rest.filter((c) => c !== 'memo' && c !== 'search-attributes')).toEqual([
      'schedule generateSlice #7',
      'schedule generateBatch #8',
      'schedule generateSlice #9',
      'schedule generateSlice #10',
    ]);
  });

  it('the retry carries the attempts made and waits the backoff in its activity, with the attempts left in its policy', async () => {
    const { wf } = await HandDrivenWorkflow.start(workflowsPath, 'datasetRunWorkflow', [runInput(48, 6, true)]);
    const after = await wf.activate([sliceDone(1, [2])]);
    await wf.dispose();
    const batch = after.find((c) => c.scheduleActivity?.activityType === 'generateBatch')!.scheduleActivity!;
    const input = JSON.parse(Buffer.from(batch.arguments![0]!.data!).toString('utf8'));
    expect(input).toMatchObject({ batchIndex: 2, priorAttempts: 1, retryDelayMs: 1000 });
    // Defaults: maxRetries 3, backoff 1 s x 2: three attempts left, the next wait 2 s.
    expect(batch.retryPolicy!.maximumAttempts).toBe(3);
    expect(Number(batch.retryPolicy!.initialInterval!.seconds)).toBe(2);
  });
});
