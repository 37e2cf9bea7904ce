/** A fresh 31-bit sampling seed. Client code only (workflows sample with the run's recorded seed), so not in sampling.ts, which workflows import. */
export function randomSeed(): number {
  return Math.floor(Math.random() * 0x7fffffff);
}
