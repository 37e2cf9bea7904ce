/**
 * Replay of recorded histories against today's workflow code (no server). A change to workflow
 * code that a running history could meet must keep these passing (guard it with `patched`).
 */
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { DeterminismViolationError } from '@temporalio/workflow';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { bundleWorkflowCode, Worker, type WorkflowBundle } from '@temporalio/worker';
import { temporal } from '@temporalio/proto';

const dir = path.join(__dirname, '../fixtures/histories');
const load = (file: string) => {
  const raw = fs.readFileSync(path.join(dir, file));
  return historyFromJSON(JSON.parse((file.endsWith('.gz') ? zlib.gunzipSync(raw) : raw).toString('utf8')));
};
const quiet = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} };

let bundle: WorkflowBundle;
beforeAll(async () => {
  bundle = await bundleWorkflowCode({ workflowsPath: require.resolve('../../src/workflows'), logger: quiet as never });
});

describe('histories recorded before the completion-driven scheduler', () => {
  // A v1 run chain: pause and resume, a setConcurrency update, 15% server errors, filter top-ups,
  // two continue-as-new segments. Version 1 code must keep finishing these runs.
  for (const file of ['dataset-run-v1-0.json', 'dataset-run-v1-1.json', 'dataset-run-v1-2.json']) {
    it(`${file} replays on today's code`, async () => {
      const history = load(file);
      expect(history.events!.length).toBeGreaterThan(30);
      await expect(Worker.runReplayHistory({ workflowBundle: bundle }, history, file)).resolves.toBeUndefined();
    });
  }

  it('the chaos run (recorded while v1 emitted commands by activation grouping) still fails replay, as evidence', async () => {
    // This history recorded commands in an order that v1 produces only with a split activation; no
    // code can replay it both ways. It is kept as the regression's evidence: a *new* history of the
    // same scenario replays (test/workflow/activation-grouping.test.ts, test/chaos).
    const history = load('chaos-nde-history.json.gz');
    const err = await Worker.runReplayHistory({ workflowBundle: bundle }, history, 'chaos').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeterminismViolationError);
    expect(String((err as Error).message)).toMatch(/ModifyWorkflowProperties|Nondeterminism/);
  });
});

describe('histories recorded by the completion-driven scheduler before calls per batch and budgets', () => {
  // scripts/record-histories.ts on commit ac6792e: pause and resume, an updateSettings update, 15%
  // server errors, filter top-ups, four continue-as-new segments. Later changes (a batch of several
  // calls, the budget, the budget in updateSettings) are gated by fields these inputs lack.
  for (const file of ['dataset-run-v2-0.json', 'dataset-run-v2-1.json', 'dataset-run-v2-2.json', 'dataset-run-v2-3.json']) {
    it(`${file} replays on today's code`, async () => {
      const history = load(file);
      expect(history.events!.length).toBeGreaterThan(20);
      await expect(Worker.runReplayHistory({ workflowBundle: bundle }, history, file)).resolves.toBeUndefined();
    });
  }
});

describe('histories recorded with several calls per batch, a budget, pacing and dedup (before slices)', () => {
  // scripts/record-histories.ts on commit 622933c: two calls per batch, budgetUsd, rateLimit, exact
  // dedup, pause and resume, an updateSettings update with a budget, 15% server errors, filter
  // top-ups, continue-as-new. Slices are gated by an input field these runs lack.
  for (const file of ['dataset-run-v3-0.json', 'dataset-run-v3-1.json']) {
    it(`${file} replays on today's code`, async () => {
      const history = load(file);
      expect(history.events!.length).toBeGreaterThan(20);
      await expect(Worker.runReplayHistory({ workflowBundle: bundle }, history, file)).resolves.toBeUndefined();
    });
  }
});

describe('histories of a run with slices', () => {
  // scripts/record-histories.ts with slices (the default): slices of 3 batches in 2 slots, a batch
  // of a slice failing on a 500 and retried on its own (generateBatch), pause and resume, an
  // updateSettings update, continue-as-new.
  for (const file of ['dataset-run-v4-0.json', 'dataset-run-v4-1.json']) {
    it(`${file} replays on today's code`, async () => {
      const history = load(file);
      expect(history.events!.length).toBeGreaterThan(20);
      await expect(Worker.runReplayHistory({ workflowBundle: bundle }, history, file)).resolves.toBeUndefined();
    });
  }
});

describe('why settings reach a run as a signal, not an update', () => {
  it('a chaos run whose setConcurrency update came in the task after a timed-out one fails replay (Temporal core), as evidence', async () => {
    // Recorded by test/chaos with the update client: a worker was killed mid workflow task (event
    // 32, timed out); the next task applied 8 completions, then the update (accepted at event 58
    // after 11 commands). On replay, core hands the update over with the completions and its
    // acceptance comes first (sdk-rust#943, #961): the run stalled for good. The client now sends
    // the applySettings signal, which is an event of its own. If this starts replaying, the SDK
    // fixed it.
    const history = load('update-after-timed-out-task.json.gz');
    const types = history.events!.map((e) => e.eventType);
    expect(types[31]).toBe(temporal.api.enums.v1.EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT);
    expect(types[57]).toBe(temporal.api.enums.v1.EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED);
    const err = await Worker.runReplayHistory({ workflowBundle: bundle }, history, 'update-after-timeout').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeterminismViolationError);
    expect(String((err as Error).message)).toMatch(/Update machine does not handle this event/);
  });
});

describe('topic builds recorded before they could continue as new', () => {
  // scripts/record-topic-histories.ts on commit d75d721 (one run per build, 15% server
  // errors). Continue-as-new is gated by `expansionsPerRun`, which these inputs lack.
  for (const file of ['topic-build-v1-tree-0.json', 'topic-build-v1-graph-0.json']) {
    it(`${file} replays on today's code`, async () => {
      const history = load(file);
      expect(history.events!.filter((e) => e.activityTaskScheduledEventAttributes).length).toBeGreaterThan(7);
      await expect(Worker.runReplayHistory({ workflowBundle: bundle }, history, file)).resolves.toBeUndefined();
    });
  }
});

describe('topic builds that continue as new', () => {
  // scripts/record-topic-histories.ts <prefix> 3 on the commit that added continue-as-new to topic
  // builds: three segments each (state carried through the store in chunks), 15% server errors.
  for (const mode of ['tree', 'graph']) {
    for (const i of [0, 1, 2]) {
      const file = `topic-build-v2-${mode}-${i}.json`;
      it(`${file} replays on today's code`, async () => {
        const history = load(file);
        const names = history.events!.flatMap((e) =>
          e.activityTaskScheduledEventAttributes ? [e.activityTaskScheduledEventAttributes.activityType!.name] : [],
        );
        // Each segment but the first reads the state; each but the last writes it (the graph's last writes it for the save).
        expect(names.includes('readTopicBuildState')).toBe(i > 0);
        expect(names.includes('writeTopicBuildState')).toBe(i < 2 || mode === 'graph');
        await expect(Worker.runReplayHistory({ workflowBundle: bundle }, history, file)).resolves.toBeUndefined();
      });
    }
  }
});
