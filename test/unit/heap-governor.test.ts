/**
 * The heap governor (src/worker/heap-governor.ts) asks for a full collection once the heap has grown
 * its budget past what was alive after the previous one. Its effect on a worker's memory is measured
 * by the benchmarks (bench/results/long.json, mem-10k.json); here, its rule, on a heap the test drives.
 */
import { startHeapGovernor, v8HeapControls } from '../../src/worker/heap-governor';

const MB = 2 ** 20;

it('collects when the heap grows past alive + budget, then measures alive again from there', async () => {
  let used = 100 * MB;
  let reads = 0;
  const collected: number[] = [];
  const heap = {
    usedBytes: () => (reads++, used),
    collect: () => {
      collected.push(used);
      used = 120 * MB; // what is alive after a full collection
    },
  };
  const waitFor = async (ok: () => boolean) => {
    while (!ok()) await new Promise((r) => setImmediate(r));
  };
  const checks = async (n: number) => {
    const until = reads + n;
    await waitFor(() => reads >= until);
  };
  const governor = startHeapGovernor(64, 2, heap);
  used = 163 * MB; // 63 MB past alive (100): under the budget
  await checks(3);
  expect(collected).toEqual([]);
  used = 164 * MB; // 64 MB past: collect
  await waitFor(() => governor.collections === 1);
  expect(collected).toEqual([164 * MB]);
  used = 183 * MB; // alive is now 120 MB: 63 MB past, no collection
  await checks(3);
  expect(governor.collections).toBe(1);
  used = 184 * MB; // 64 MB past: the second
  await waitFor(() => governor.collections === 2);
  expect(collected).toEqual([164 * MB, 184 * MB]);
  governor.stop();
});

it('reaches V8 itself: a full collection runs and the heap size is read', () => {
  const heap = v8HeapControls();
  expect(heap.usedBytes()).toBeGreaterThan(0);
  expect(() => heap.collect()).not.toThrow();
});
