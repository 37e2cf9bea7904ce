/**
 * Drives workflow code through the SDK's own sandbox (the VM the worker uses) with activations the
 * test writes by hand, and returns the commands each activation produced. No server: this is how
 * a test can hand the same events to a workflow in different activation groupings, which a real
 * server does only under rare races.
 */
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { msToTs } from '@temporalio/common/lib/time';
import { coresdk } from '@temporalio/proto';
import { bundleWorkflowCode } from '@temporalio/worker';
import { parseWorkflowCode } from '@temporalio/worker/lib/worker';
import { VMWorkflowCreator } from '@temporalio/worker/lib/workflow/vm';
import type { Workflow } from '@temporalio/worker/lib/workflow/interface';
import Long from 'long';

type Job = coresdk.workflow_activation.IWorkflowActivationJob;
type Command = coresdk.workflow_commands.IWorkflowCommand;

const quiet = { trace() {}, debug() {}, info() {}, warn() {}, error: (m: string) => console.error(m) };

let creators = new Map<string, Promise<VMWorkflowCreator>>();

function creator(workflowsPath: string): Promise<VMWorkflowCreator> {
  let c = creators.get(workflowsPath);
  if (!c) {
    // The same bundle and the same parse the worker uses (source map split off the code).
    c = bundleWorkflowCode({ workflowsPath, logger: quiet as never }).then((bundle) =>
      VMWorkflowCreator.create(parseWorkflowCode(bundle.code), 5000, new Set(['generateSlice', 'assembleDataset'])),
    );
    creators.set(workflowsPath, c);
  }
  return c;
}

export async function disposeHarness(): Promise<void> {
  for (const c of creators.values()) await (await c).destroy();
  creators = new Map();
}

export const payload = (value: unknown): Payload => defaultPayloadConverter.toPayload(value);

/** A workflow instance fed by hand; `activate` returns the commands of one activation. */
export class HandDrivenWorkflow {
  private constructor(
    private readonly wf: Workflow,
    private readonly runId: string,
  ) {}

  static async start(workflowsPath: string, workflowType: string, args: unknown[]): Promise<{ wf: HandDrivenWorkflow; commands: Command[] }> {
    const runId = `run-${Math.random().toString(16).slice(2)}`;
    const now = Date.UTC(2026, 10, 25);
    const info = {
      workflowId: 'wf-1',
      runId,
      workflowType,
      searchAttributes: {},
      typedSearchAttributes: [],
      memo: {},
      historyLength: 3,
      historySize: 300,
      continueAsNewSuggested: false,
      targetWorkerDeploymentVersionChanged: false,
      taskQueue: 'hand-driven',
      namespace: 'default',
      firstExecutionRunId: runId,
      originalExecutionRunId: runId,
      startTime: new Date(now),
      runStartTime: new Date(now),
      taskTimeoutMs: 10_000,
      attempt: 1,
      unsafe: { isReplaying: false, isReplayingHistoryEvents: false, now: () => now },
    };
    const wf = await (await creator(workflowsPath)).createWorkflow({ info: info as never, randomnessSeed: [1, 2], now, showStackTraceSources: false });
    const driven = new HandDrivenWorkflow(wf, runId);
    const commands = await driven.activate([
      {
        initializeWorkflow: {
          workflowId: 'wf-1',
          workflowType,
          arguments: args.map(payload),
          randomnessSeed: Long.fromNumber(7),
          firstExecutionRunId: runId,
          attempt: 1,
          startTime: msToTs(now),
        },
      },
    ]);
    return { wf: driven, commands };
  }

  async activate(jobs: Job[]): Promise<Command[]> {
    const completion = await this.wf.activate(
      coresdk.workflow_activation.WorkflowActivation.fromObject({
        runId: this.runId,
        timestamp: msToTs(Date.UTC(2026, 10, 25)),
        isReplaying: false,
        historyLength: 10,
        jobs,
      }),
    );
    if (completion.failed) throw new Error(`activation failed: ${completion.failed.failure?.message}`);
    return completion.successful?.commands ?? [];
  }

  dispose(): Promise<void> {
    return this.wf.dispose();
  }
}

/** A resolveActivity job: the activity `seq` completed with `result`. */
export function activityCompleted(seq: number, result: unknown): Job {
  return { resolveActivity: { seq, result: { completed: { result: payload(result) } } } };
}

/** A resolveActivity job: the activity `seq` failed (after its retries) with an application failure carrying `details`. */
export function activityFailed(seq: number, type: string, message = 'failed', details: unknown[] = []): Job {
  const activityFailureInfo = { activityType: { name: 'generateSlice' }, activityId: String(seq), retryState: 'RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED' as never };
  const applicationFailureInfo = { type, nonRetryable: false, ...(details.length ? { details: { payloads: details.map(payload) } } : {}) };
  return {
    resolveActivity: {
      seq,
      result: { failed: { failure: { message: 'Activity task failed', cause: { message, applicationFailureInfo }, activityFailureInfo } } },
    },
  };
}

export function signal(signalName: string, ...input: unknown[]): Job {
  return { signalWorkflow: { signalName, input: input.map(payload) } };
}

/** A command as a short, comparable string: "schedule generateSlice #3", "memo", "search-attributes", ... */
export function describeCommand(c: Command): string {
  if (c.scheduleActivity) return `schedule ${c.scheduleActivity.activityType} #${c.scheduleActivity.seq}`;
  if (c.modifyWorkflowProperties) return 'memo';
  if (c.upsertWorkflowSearchAttributes) return 'search-attributes';
  if (c.setPatchMarker) return `patch ${c.setPatchMarker.patchId}`;
  if (c.startTimer) return `timer #${c.startTimer.seq}`;
  return Object.keys(c)
    .filter((k) => (c as Record<string, unknown>)[k] != null)
    .join(',');
}
