import { claimFor, DedupIndex, exactKey, jaccard, minhash, normalise, sameTopic, similarity } from '../../src/dataset/dedup';

const long = (i: number) => Array.from({ length: 60 }, (_, k) => `word${(k * 7 + i) % 97}`).join(' ');

describe('normalised text and exact keys', () => {
  it('treats case, punctuation and spacing as the same text', () => {
    expect(normalise('  Hello,   World!\n')).toBe('hello world');
    expect(exactKey('Hello, World!')).toBe(exactKey('hello world'));
    expect(exactKey('hello world')).not.toBe(exactKey('hello worlds'));
  });
});

describe('MinHash', () => {
  it('estimates Jaccard similarity within a few points', () => {
    const a = long(1);
    const words = a.split(' ');
    const b = [...words.slice(0, 50), 'changed', 'words', 'here', ...words.slice(53)].join(' ');
    const c = long(40);
    expect(Math.abs(similarity(minhash(a), minhash(b)) - jaccard(a, b))).toBeLessThan(0.15);
    expect(similarity(minhash(a), minhash(a))).toBe(1);
    expect(similarity(minhash(a), minhash(c))).toBeLessThan(0.3);
  });
});

describe('DedupIndex: what counts as an earlier claim', () => {
  const settings = { exact: true, near: 0.8 };
  const claim = (text: string, attempt: string, batch: number, slot: number) => claimFor(text, { attempt, batch, slot }, settings);

  it('an earlier claim of another batch makes a duplicate; a later one does not', () => {
    const ix = new DedupIndex();
    const first = ix.add(claim('Same text here', 'a', 0, 0));
    const second = ix.add(claim('same text, here!', 'b', 1, 0));
    expect(ix.check(second, settings)).toEqual({ duplicate: true, reason: 'duplicate', of: { batch: 0, slot: 0 } });
    expect(ix.check(first, settings)).toEqual({ duplicate: false });
  });

  it('within one attempt, the earlier slot wins; an earlier attempt of the same batch is that batch itself', () => {
    const ix = new DedupIndex();
    ix.add(claim('x y z', 'old-attempt', 3, 0)); // batch 3 crashed after claiming
    const s0 = ix.add(claim('x y z', 'retry', 3, 0));
    const s1 = ix.add(claim('x y z', 'retry', 3, 1));
    expect(ix.check(s0, settings)).toEqual({ duplicate: false });
    expect(ix.check(s1, settings)).toEqual({ duplicate: true, reason: 'duplicate', of: { batch: 3, slot: 0 } });
  });

  it('near duplicates above the threshold, not below; off without `near`', () => {
    const a = long(1);
    const words = a.split(' ');
    const near = [...words.slice(0, 58), 'different', 'ending'].join(' ');
    const ix = new DedupIndex();
    ix.add(claim(a, 'a', 0, 0));
    const n = ix.add(claim(near, 'b', 1, 0));
    const far = ix.add(claim(long(40), 'c', 2, 0));
    expect(jaccard(a, near)).toBeGreaterThan(0.9);
    expect(ix.check(n, settings)).toMatchObject({ duplicate: true, reason: 'near-duplicate' });
    expect(ix.check(far, settings)).toEqual({ duplicate: false });
    expect(ix.check(n, { exact: true })).toEqual({ duplicate: false });
  });
});

describe('topic names', () => {
  it('the same content words are one topic, whatever the order, case, plural or filler words', () => {
    expect(sameTopic('Python lists', 'Lists in Python')).toBe(true);
    expect(sameTopic('Learning, supervised', 'Supervised learning')).toBe(true);
    expect(sameTopic('Neural network', 'neural networks')).toBe(true);
    expect(sameTopic('Supervised learning', 'Unsupervised learning')).toBe(false);
    expect(sameTopic('Python lists', 'Python dictionaries')).toBe(false);
  });
});

describe('DedupIndex: exact keys in a typed table', () => {
  it('exact verdicts over 6,000 claims equal a brute-force scan: keys that share their low bits, duplicates across the table growing', () => {
    // Claims of 8 slots per batch; keys given as hex (the exact key's first 13 digits are its number).
    // Every fifth repeats an earlier key; every seventh differs from another only above the low 32 bits.
    const claims: { attempt: string; batch: number; slot: number; exact: string }[] = [];
    for (let i = 0; i < 6000; i++) {
      const low = (i * 2654435761) >>> 0;
      let exact = `${(i % 7 === 0 ? 0xfffff - i : i).toString(16).padStart(5, '0')}${low.toString(16).padStart(8, '0')}`;
      if (i % 7 === 0 && i > 0) exact = `${(0xfffff - i).toString(16).padStart(5, '0')}${(((i - 1) * 2654435761) >>> 0).toString(16).padStart(8, '0')}`;
      if (i % 5 === 4) exact = claims[(i * 31) % i]!.exact;
      const batch = Math.floor(i / 8);
      claims.push({ attempt: `a${batch}`, batch, slot: i % 8, exact });
    }
    const ix = new DedupIndex();
    const at = claims.map((c) => ix.add(c));
    let duplicates = 0;
    claims.forEach((c, k) => {
      const first = claims.findIndex((o, j) => j < k && o.exact.slice(0, 13) === c.exact.slice(0, 13) && (o.batch !== c.batch || o.slot < c.slot));
      const expected =
        first < 0 ? { duplicate: false } : { duplicate: true, reason: 'duplicate', of: { batch: claims[first]!.batch, slot: claims[first]!.slot } };
      if (first >= 0) duplicates++;
      expect(ix.check(at[k]!, { exact: true })).toEqual(expected);
    });
    expect(duplicates).toBeGreaterThan(1000);
  });
});
