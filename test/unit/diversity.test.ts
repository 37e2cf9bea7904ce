import { DiversityMeter } from '../../src/dataset/diversity';

describe('DiversityMeter', () => {
  it('counts distinct-1 and distinct-2 exactly on small data', () => {
    const m = new DiversityMeter();
    m.add('the cat sat');
    m.add('The cat ran!');
    // words: the cat sat the cat ran -> 4 unique of 6; pairs: "the cat" x2, "cat sat", "cat ran" -> 3 of 4
    const r = m.result();
    expect(r.distinct1).toBeCloseTo(4 / 6, 4);
    expect(r).toMatchObject({ distinct2: 0.75, examples: 2 });
    expect(r.topicsUsed).toBeUndefined(); // no topics given
  });

  it('estimates past the exact limit within a few percent, in bounded memory', () => {
    const m = new DiversityMeter();
    for (let i = 0; i < 20_000; i++) m.add(Array.from({ length: 10 }, (_, k) => `w${i * 10 + k}`).join(' ')); // 200,000 unique words
    const r = m.result();
    expect(r.distinct1).toBeGreaterThan(0.95);
    expect(r.distinct1).toBeLessThanOrEqual(1);
    const repeated = new DiversityMeter();
    for (let i = 0; i < 20_000; i++) repeated.add(Array.from({ length: 10 }, (_, k) => `w${(i * 10 + k) % 100_000}`).join(' ')); // 100,000 unique of 200,000
    expect(Math.abs(repeated.result().distinct1 - 0.5)).toBeLessThan(0.03);
  });

  it('counts the topics used and the share of each top-level branch', () => {
    const m = new DiversityMeter();
    m.add('a', ['Root', 'Lists', 'Append']);
    m.add('b', ['Root', 'Lists', 'Pop']);
    m.add('c', ['Root', 'Dicts', 'Keys']);
    m.add('d', ['Root', 'Lists', 'Append']);
    expect(m.result()).toMatchObject({ topicsUsed: 3, branchShare: { Lists: 0.75, Dicts: 0.25 } });
  });
});
