import { Context } from '@temporalio/activity';
import { promises as fs } from 'node:fs';
import { RunStore, writeFileAtomic } from '../storage/run-store';
import type { AssembleInput, AssembleResult } from './types';

/**
 * Joins the run's shards, in batch order, into `dataset.jsonl` (at most `numSteps` records) and
 * writes `manifest.json`. Idempotent: running it twice gives the same files.
 */
export async function assembleDataset(input: AssembleInput): Promise<AssembleResult> {
  const store = new RunStore(input.runDir);
  const indices = await store.shardIndices();
  const tmp = `${store.datasetPath}.${process.pid}.assembling`;
  const out = await fs.open(tmp, 'w');
  let records = 0;
  try {
    for (const batch of indices) {
      if (records >= input.numSteps) break;
      const { records: rows } = await store.readShard(batch);
      const take = rows.slice(0, input.numSteps - records);
      if (take.length) await out.write(take.map((r) => JSON.stringify(r)).join('\n') + '\n');
      records += take.length;
      Context.current().heartbeat(batch);
    }
    await out.sync();
  } finally {
    await out.close();
  }
  await fs.rename(tmp, store.datasetPath);
  const partial = records < input.numSteps;
  const manifest = {
    ...input.manifest,
    runId: input.runId,
    records,
    target: input.numSteps,
    partial,
    shards: indices.length,
    dataset: 'dataset.jsonl',
    assembledAt: new Date().toISOString(),
  };
  await writeFileAtomic(store.manifestPath, JSON.stringify(manifest, null, 2) + '\n');
  return { datasetPath: store.datasetPath, manifestPath: store.manifestPath, records, partial };
}
