/**
 * Keeps a worker's V8 heap near what is alive instead of letting it grow with the run. V8 sizes its
 * old generation from Node's heap limit (about 4 GB on a 24 GB machine), so a long run lets hundreds
 * of MB of garbage pile up between major collections, and the peak RSS grows with the run's length
 * (not a leak: bench/results/long.json). The governor asks for a full collection whenever the heap
 * has grown `budgetMb` beyond what was alive after the previous one. As flat as a hard heap cap
 * (`--max-old-space-size`) at about the same CPU, but not a wall: a cap cannot grow when a run
 * really needs more (near-dedup signatures) and then fails the worker at the same batch every time.
 */
import v8 from 'node:v8';
import vm from 'node:vm';

export interface HeapGovernor {
  stop(): void;
  /** Full collections it asked for so far. */
  readonly collections: number;
}

/** What the governor reads and calls: V8's heap size and its full collection (a test passes its own). */
interface HeapControls {
  usedBytes(): number;
  collect(): void;
}

/** V8's own: `gc` is exposed by a V8 flag, which set at run time takes effect for new contexts. */
export function v8HeapControls(): HeapControls {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  return { usedBytes: () => v8.getHeapStatistics().used_heap_size, collect: () => gc() };
}

export function startHeapGovernor(budgetMb: number, everyMs = 500, heap: HeapControls = v8HeapControls()): HeapGovernor {
  const budget = budgetMb * 2 ** 20;
  let alive = heap.usedBytes();
  let collections = 0;
  const check = () => {
    if (heap.usedBytes() < alive + budget) return;
    heap.collect();
    collections++;
    alive = heap.usedBytes();
  };
  const timer = setInterval(check, everyMs);
  timer.unref();
  return {
    stop: () => clearInterval(timer),
    get collections() {
      return collections;
    },
  };
}
