/** Dedup as batches arrive: a batch claims its examples in the run's claims log and keeps those no earlier claim matches. */
import { randomUUID } from 'node:crypto';
import { claimFor, DedupIndex, type Verdict } from '../dataset/dedup';
import { recordText, type DatasetRecord } from '../dataset/example-schemas';
import type { RunData } from '../storage/store';
import type { BatchInput } from './types';

/** Per run, the claims this process has read (log order) and where it stopped reading; a few runs at most. */
const dedupCache = new Map<string, { index: DedupIndex; next: number; queue: Promise<unknown>; waiting: Map<string, Map<number, number>> }>();

/**
 * Claims the batch's examples in the run's claims log, then reads the log: an example is a
 * duplicate when a claim before its own (another batch's, or an earlier example of this attempt)
 * has the same normalised text or, with `near`, a similar enough MinHash signature. Every worker
 * reads the same log in the same order, so two batches in flight at once never both keep one text.
 */
export async function dropDuplicates(
  store: RunData,
  input: BatchInput,
  attemptNo: number,
  records: unknown[],
  rejected: Record<string, number>,
): Promise<boolean[]> {
  const settings = input.dedup!;
  const attempt = `${input.batchIndex}.${attemptNo}.${randomUUID().slice(0, 8)}`;
  const claims = records.map((r, slot) => claimFor(recordText(r as DatasetRecord), { attempt, batch: input.batchIndex, slot }, settings));
  const keep = (verdict: Verdict) => {
    if (!verdict.duplicate) return true;
    rejected[verdict.reason] = (rejected[verdict.reason] ?? 0) + 1;
    return false;
  };
  // A store that keeps the index (PostgreSQL) decides in one locked round trip; no index in this process.
  if (store.claimAndCheck) return (await store.claimAndCheck(claims, settings)).map(keep);
  let cache = dedupCache.get(input.runId);
  if (!cache) {
    if (dedupCache.size >= 4) dedupCache.delete(dedupCache.keys().next().value!);
    cache = { index: new DedupIndex(), next: 0, queue: Promise.resolve(), waiting: new Map() };
    dedupCache.set(input.runId, cache);
  }
  const c = cache;
  // Another batch of this process may read our claims first: whoever reads them notes their positions.
  const mine = new Map<number, number>();
  c.waiting.set(attempt, mine);
  try {
    await store.appendClaims(claims);
    // One reader of a run's log at a time in this process (the index is shared by its batches).
    const run = c.queue.then(async () => {
      const { claims: fresh, next } = await store.readClaims(c.next);
      for (const claim of fresh) {
        const at = c.index.add(claim);
        c.waiting.get(claim.attempt)?.set(claim.slot, at);
      }
      c.next = next;
      return records.map((_, slot) => {
        const at = mine.get(slot);
        if (at === undefined) return true; // not in the log (cannot happen after our append): keep
        return keep(c.index.check(at, settings));
      });
    });
    c.queue = run.catch(() => undefined);
    return await run;
  } finally {
    c.waiting.delete(attempt);
  }
}
