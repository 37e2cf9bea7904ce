/**
 * The heap governor (src/worker/heap-governor.ts) asks V8 for a full collection once the heap has
 * grown its budget past what was alive after the previous one.
 */
import { startHeapGovernor } from '../../src/worker/heap-governor';

it('collects once the heap grows past its budget, not before', async () => {
  const governor = startHeapGovernor(8, 10);
  const kept: number[][] = [];
  const deadline = Date.now() + 10_000;
  // Grow the heap with data that stays alive until the governor has collected at least once.
  while (governor.collections === 0 && Date.now() < deadline) {
    kept.push(Array.from({ length: 100_000 }, (_, i) => i + 0.5));
    await new Promise((r) => setTimeout(r, 5));
  }
  governor.stop();
  expect(governor.collections).toBeGreaterThanOrEqual(1);
  // ~800 kB per array: an 8 MB budget is passed after about ten of them, not after the first.
  expect(kept.length).toBeGreaterThan(5);
});
