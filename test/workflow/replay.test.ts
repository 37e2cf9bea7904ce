/**
 * Replay of recorded histories against today's workflow code (no server). The policy
 * (docs/RELEASES.md): one workflow version per release; a release replays the histories of the
 * previous release, kept in test/fixtures/histories/<release>/, and nothing older. Until the first
 * release ships, the fixtures are this release's own (recorded by scripts/record-histories.ts and
 * scripts/record-topic-histories.ts, scripts/record-batch-histories.ts and
 * scripts/record-quality-histories.ts on the commit that made them).
 */
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { DeterminismViolationError } from '@temporalio/workflow';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { bundleWorkflowCode, Worker, type WorkflowBundle } from '@temporalio/worker';

const root = path.join(__dirname, '../fixtures/histories');
const releases = fs.readdirSync(root).filter((d) => fs.statSync(path.join(root, d)).isDirectory());
const load = (release: string, file: string) => historyFromJSON(JSON.parse(fs.readFileSync(path.join(root, release, file), 'utf8')));
const quiet = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} };

let bundle: WorkflowBundle;
beforeAll(async () => {
  bundle = await bundleWorkflowCode({ workflowsPath: require.resolve('../../src/workflows'), logger: quiet as never });
});

it('keeps the histories of exactly one release (the previous one, or this one before the first release)', () => {
  expect(releases).toHaveLength(1);
  const files = fs.readdirSync(path.join(root, releases[0]!));
  // A dataset run chain (pause, resume, a settings signal, 15% server errors retried by Temporal,
  // filter top-ups, continue-as-new) and a tree and a graph build that continue as new.
  expect(files.filter((f) => /^dataset-run-\d/.test(f)).length).toBeGreaterThanOrEqual(2);
  // Batch mode: OpenAI with errored and expired lines resubmitted across continue-as-new, Anthropic stopped mid-wait.
  expect(files.filter((f) => f.startsWith('dataset-run-batch-openai-')).length).toBeGreaterThanOrEqual(2);
  expect(files.filter((f) => f.startsWith('dataset-run-batch-anthropic-')).length).toBeGreaterThanOrEqual(1);
  // Quality gates: a judge rejecting on a criterion (topped up) and a validator flagging, across continue-as-new.
  expect(files.filter((f) => f.startsWith('dataset-run-quality-')).length).toBeGreaterThanOrEqual(2);
  expect(files.filter((f) => f.startsWith('topic-build-tree-')).length).toBeGreaterThanOrEqual(2);
  expect(files.filter((f) => f.startsWith('topic-build-graph-')).length).toBeGreaterThanOrEqual(2);
});

for (const release of releases) {
  describe(`histories of release ${release}`, () => {
    for (const file of fs.readdirSync(path.join(root, release)).filter((f) => f.endsWith('.json'))) {
      it(`${file} replays on today's code`, async () => {
        const history = load(release, file);
        expect(history.events!.filter((e) => e.activityTaskScheduledEventAttributes).length).toBeGreaterThan(2);
        await expect(Worker.runReplayHistory({ workflowBundle: bundle }, history, file)).resolves.toBeUndefined();
      });
    }
  });
}

it('the quality history covers what the workflow folds from quality gates: judge rejections, scores and flags', () => {
  const files = fs
    .readdirSync(path.join(root, releases[0]!))
    .filter((f) => f.startsWith('dataset-run-quality-'))
    .sort((a, b) => parseInt(a.slice(20), 10) - parseInt(b.slice(20), 10));
  const events = load(releases[0]!, files[files.length - 1]!).events!;
  const completed = events.find((e) => e.workflowExecutionCompletedEventAttributes)?.workflowExecutionCompletedEventAttributes;
  const result = JSON.parse(Buffer.from(completed!.result!.payloads![0]!.data!).toString('utf8')) as {
    stats: {
      rejected: Record<string, number>;
      quality?: { judgeCalls?: number; scores?: Record<string, Record<string, number>>; validators?: Record<string, { failed: number }> };
    };
  };
  expect(result.stats.rejected['judge: correctness']).toBeGreaterThan(0);
  expect(result.stats.quality?.judgeCalls).toBeGreaterThan(result.stats.rejected['judge: correctness']!);
  expect(result.stats.quality?.scores?.correctness?.['2']).toBe(result.stats.rejected['judge: correctness']);
  expect(result.stats.quality?.validators?.regex?.failed).toBeGreaterThan(0);
});

describe('replay catches a changed command order', () => {
  it('a history whose memo upsert and search-attribute upsert trade places fails replay with a determinism error', async () => {
    const events = load(releases[0]!, 'dataset-run-0.json').events!;
    // A completion's commands: the progress memo, then the DatasetAccepted search attribute.
    const i = events.findIndex((e, k) => e.workflowPropertiesModifiedEventAttributes && events[k + 1]?.upsertWorkflowSearchAttributesEventAttributes);
    expect(i).toBeGreaterThan(0);
    const swapped = [...events];
    swapped[i] = Object.assign(Object.create(Object.getPrototypeOf(events[i + 1])), events[i + 1], { eventId: events[i]!.eventId });
    swapped[i + 1] = Object.assign(Object.create(Object.getPrototypeOf(events[i])), events[i], { eventId: events[i + 1]!.eventId });
    // Unchanged, it replays (the other test); reordered, it must not.
    const err = await Worker.runReplayHistory({ workflowBundle: bundle }, { events: swapped }, 'reordered').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeterminismViolationError);
  });
});

describe('a signal in the same workflow task as completions (a regression history)', () => {
  it("a chaos history whose signals core hands over before the completions they followed replays on today's code", async () => {
    // Recorded by test/chaos (run chaos-2, 2026-12-06) on code that applied a signal one microtask
    // after its job: a sticky workflow task timed out (a worker was killed); live, the next worker
    // applied the task's 8 slice completions and then its pause and applySettings signals; on
    // replay, Temporal's core handed the task over in one activation with the signals sorted first
    // (seen: "signalWorkflow, signalWorkflow, resolveActivity x 8"), the pause landed before the
    // completions and replay failed at event 85 (1 chaos run in 21). Signals now take effect after
    // the completions delivered with them (dataset-run.ts), so the task replays as it ran. Later
    // tasks of this history were recorded with the old one-microtask signals and diverge where a
    // signal came before a completion in one task: the replay is checked past event 85 only.
    const raw = zlib.gunzipSync(fs.readFileSync(path.join(__dirname, '../fixtures/evidence/signals-sorted-first.json.gz')));
    const history = historyFromJSON(JSON.parse(raw.toString('utf8')));
    const err = await Worker.runReplayHistory({ workflowBundle: bundle }, history, 'signals-sorted-first').catch((e: unknown) => e);
    // The old failure (event 85) is gone; the next difference is the old semantics' own later choice.
    expect(String((err as Error | undefined)?.message)).not.toMatch(/HistoryEvent\(id: 85,/);
    expect(String((err as Error).message)).toMatch(/HistoryEvent\(id: 111, WorkflowPropertiesModified\)/);
  });
});
