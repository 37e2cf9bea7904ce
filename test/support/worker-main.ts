/**
 * A worker in its own process, so a test can SIGKILL it. Reads TEMPORAL_ADDRESS and
 * DEEPFABRIC_TASK_QUEUE; API keys and base URLs come from its environment like a real worker's.
 */
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { createWorker } from '../../src/worker/worker';

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const { worker } = await createWorker({
    cluster: { address: process.env.TEMPORAL_ADDRESS! },
    taskQueue: process.env.DEEPFABRIC_TASK_QUEUE!,
    // Tests that restart workers often bundle the workflow code once and pass its path.
    ...(process.env.DF_TEST_WORKFLOW_BUNDLE ? { workflowBundle: { codePath: process.env.DF_TEST_WORKFLOW_BUNDLE } } : {}),
  });
  process.stdout.write('worker ready\n');
  // Benches read the worker's memory by kind (V8 heap, external, array buffers) as `mem {...}` lines.
  const every = Number(process.env.DF_MEM_REPORT_MS ?? 0);
  if (every > 0) setInterval(() => process.stdout.write(`mem ${JSON.stringify({ at: Date.now(), ...process.memoryUsage() })}\n`), every).unref();
  await worker.run();
}

main().catch((err) => {
  process.stderr.write(`${err}\n`);
  process.exit(1);
});
