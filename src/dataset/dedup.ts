/**
 * Duplicate examples: exact duplicates by a hash of the normalised text, near duplicates by MinHash
 * over word shingles with locality-sensitive hashing (bands). Pure; the run-wide index of what was
 * already accepted lives in the run store's claims log (see `claimExamples` in generate-batch).
 */
import { createHash } from 'node:crypto';

/** `dedup` settings of a run: exact on by default; `near` is a Jaccard threshold (0-1), off when absent. */
export interface DedupSettings {
  exact: boolean;
  near?: number | undefined;
}

const PERMUTATIONS = 64;
const BANDS = 8; // 8 bands of 8 rows: pairs above ~0.77 similarity become candidates, then the signatures decide
const ROWS = PERMUTATIONS / BANDS;
const SHINGLE = 3;

/** Lower case, punctuation dropped, whitespace collapsed: "Hello,  World!" and "hello world" are one text. */
export function normalise(text: string): string {
  return text
    .toLowerCase()
    .normalize('NFKC')
    .replace(/[^\p{L}\p{N}\s]+/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

/** The exact-duplicate key of a text. */
export function exactKey(text: string): string {
  return createHash('sha256').update(normalise(text)).digest('hex').slice(0, 32);
}

/** 32-bit FNV-1a. */
function fnv1a(s: string, seed: number): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** Word shingles of a normalised text (the text itself when it has fewer words than a shingle). */
function shingles(text: string): Set<string> {
  const words = normalise(text).split(' ').filter(Boolean);
  const out = new Set<string>();
  if (words.length < SHINGLE) {
    if (words.length) out.add(words.join(' '));
    return out;
  }
  for (let i = 0; i + SHINGLE <= words.length; i++) out.add(words.slice(i, i + SHINGLE).join(' '));
  return out;
}

/** MinHash signature: for each of 64 hash functions (double hashing), the minimum over the shingles. */
export function minhash(text: string): number[] {
  const sig = new Array<number>(PERMUTATIONS).fill(0xffffffff);
  for (const sh of shingles(text)) {
    const h1 = fnv1a(sh, 0);
    const h2 = fnv1a(sh, 0x9e3779b9) | 1;
    for (let i = 0; i < PERMUTATIONS; i++) {
      const h = (h1 + Math.imul(i, h2)) >>> 0;
      if (h < sig[i]!) sig[i] = h;
    }
  }
  return sig;
}

/** The LSH band keys of a signature (32-bit hashes): two texts sharing any band are candidates. */
function bandKeys(sig: ArrayLike<number>): number[] {
  const keys: number[] = [];
  for (let b = 0; b < BANDS; b++) {
    let h = (0x811c9dc5 ^ b) >>> 0;
    for (let r = b * ROWS; r < (b + 1) * ROWS; r++) h = Math.imul(h ^ sig[r]!, 0x01000193) >>> 0;
    keys.push(h);
  }
  return keys;
}

/** Estimated Jaccard similarity of two texts' shingle sets: the share of equal signature rows. */
export function similarity(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let same = 0;
  for (let i = 0; i < PERMUTATIONS; i++) if (a[i] === b[i]) same++;
  return same / PERMUTATIONS;
}

/** Exact Jaccard similarity of two texts' shingle sets (for tests and small checks). */
export function jaccard(a: string, b: string): number {
  const x = shingles(a);
  const y = shingles(b);
  let both = 0;
  for (const s of x) if (y.has(s)) both++;
  const union = x.size + y.size - both;
  return union === 0 ? 1 : both / union;
}

const STOPWORDS = new Set(['a', 'an', 'and', 'the', 'of', 'in', 'on', 'for', 'to', 'with', 'vs', 'versus', 'using', 'about', 'its', 'their']);

/** The content words of a short text (a topic name), for near-duplicate checks of topics. */
function topicWords(topic: string): Set<string> {
  return new Set(
    normalise(topic)
      .split(' ')
      .filter((w) => w && !STOPWORDS.has(w))
      .map((w) => (w.length > 3 && w.endsWith('s') ? w.slice(0, -1) : w)),
  );
}

/**
 * Whether topic `a` duplicates topic `b`: the same content words, or word sets whose Jaccard
 * similarity reaches `near` ("Python lists" and "Lists in Python" are one topic).
 */
export function sameTopic(a: string, b: string, near = 0.8): boolean {
  const x = topicWords(a);
  const y = topicWords(b);
  if (x.size === 0 || y.size === 0) return normalise(a) === normalise(b);
  let both = 0;
  for (const w of x) if (y.has(w)) both++;
  return both / (x.size + y.size - both) >= near;
}

/** One accepted example's entry in a run's claims log. */
export interface Claim {
  /** The attempt that made it (a random id per batch attempt). */
  attempt: string;
  batch: number;
  slot: number;
  exact: string;
  /** MinHash signature, with near-duplicate detection on. (Older logs may also carry `bands`: ignored.) */
  sig?: number[];
}

/** What `DedupIndex.check` says about one candidate. */
export type Verdict = { duplicate: false } | { duplicate: true; reason: 'duplicate' | 'near-duplicate'; of: { batch: number; slot: number } };

/** A growable column of numbers (one per claim): 32-bit integers, or doubles for the exact keys (52-bit integers). */
class Column {
  private data: Int32Array | Float64Array;
  length = 0;
  constructor(private readonly kind: Int32ArrayConstructor | Float64ArrayConstructor = Int32Array) {
    this.data = new kind(1024);
  }
  push(v: number): void {
    if (this.length === this.data.length) {
      const bigger = new this.kind(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.length++] = v;
  }
  get(i: number): number {
    return this.data[i]!;
  }
}

/**
 * Claims by exact key, in typed arrays: an open-addressing table from a key to its latest claim,
 * and per claim the previous claim with the same key (-1: none): 12 bytes per claim and 4-8 of
 * table, where a `Map<number, ...>` of 52-bit keys took ~50 (each key a heap number).
 */
class ExactTable {
  private readonly keys = new Column(Float64Array);
  private readonly previous = new Column();
  /** Latest claim + 1 per table slot (0: empty); at most half full. */
  private table = new Int32Array(2048);
  private used = 0;

  key(i: number): number {
    return this.keys.get(i);
  }

  /** Adds claim `i` (claims come in order: i is the number added so far). */
  add(i: number, key: number): void {
    this.keys.push(key);
    const slot = this.find(key);
    const latest = this.table[slot]!;
    this.previous.push(latest - 1);
    this.table[slot] = i + 1;
    if (latest === 0 && ++this.used * 2 > this.table.length) this.grow();
  }

  /** The claims with `key`, oldest first. */
  claims(key: number): number[] {
    const out: number[] = [];
    for (let i = this.table[this.find(key)]! - 1; i >= 0; i = this.previous.get(i)) out.push(i);
    return out.reverse();
  }

  /** The slot of `key`, or the empty slot where it would go (linear probing on the key's low bits). */
  private find(key: number): number {
    const mask = this.table.length - 1;
    for (let slot = (key >>> 0) & mask; ; slot = (slot + 1) & mask) {
      const latest = this.table[slot]!;
      if (latest === 0 || this.keys.get(latest - 1) === key) return slot;
    }
  }

  private grow(): void {
    const old = this.table;
    this.table = new Int32Array(old.length * 2);
    for (const latest of old) if (latest !== 0) this.table[this.find(this.keys.get(latest - 1))] = latest;
  }
}

/**
 * The exact key as a number: its first 52 bits (13 hex digits). Two different texts share one with
 * odds of about 1 in 10^6 in a run of 100,000 examples; such a pair would drop one good example,
 * which the run's top-up replaces.
 */
const exactNumber = (exact: string) => parseInt(exact.slice(0, 13), 16);

/**
 * The claims of a run seen so far, in log order, indexed by exact key and LSH band. A candidate is a
 * duplicate of an earlier claim (log order) of another batch, or of an earlier slot of its own
 * attempt. Claims of earlier attempts of the same batch are ignored: they are that batch's own
 * examples, made again. Kept in typed columns (batch, slot, attempt number, exact key and chain)
 * and a typed hash table: about 41 bytes per claim with exact dedup, growth slack included (40 MB
 * for the index of a 1M-example folder-store run, in its worker; 87 bytes with Maps), plus the
 * MinHash signature and band entries with near-dedup.
 */
export class DedupIndex {
  private readonly batch = new Column();
  private readonly slot = new Column();
  private readonly attempt = new Column();
  private readonly attempts = new Map<string, number>();
  private readonly exact = new ExactTable();
  /** MinHash signatures by claim (near-dedup only; empty otherwise). */
  private readonly sigs: Uint32Array[] = [];
  private readonly byBand = new Map<number, number | number[]>();

  get size(): number {
    return this.batch.length;
  }

  /** Appends a claim in log order; returns its position. */
  add(c: Claim): number {
    const i = this.batch.length;
    let a = this.attempts.get(c.attempt);
    if (a === undefined) this.attempts.set(c.attempt, (a = this.attempts.size));
    this.batch.push(c.batch);
    this.slot.push(c.slot);
    this.attempt.push(a);
    this.exact.add(i, exactNumber(c.exact));
    if (c.sig) {
      const sig = Uint32Array.from(c.sig);
      this.sigs[i] = sig;
      for (const k of bandKeys(sig)) push(this.byBand, k, i);
    }
    return i;
  }

  /** Checks the claim at log position `at` against everything before it. */
  check(at: number, settings: DedupSettings): Verdict {
    const batch = this.batch.get(at);
    const attempt = this.attempt.get(at);
    const slot = this.slot.get(at);
    const earlier = (i: number) => {
      if (i >= at) return false;
      if (this.batch.get(i) !== batch) return true;
      return this.attempt.get(i) === attempt && this.slot.get(i) < slot;
    };
    if (settings.exact) {
      const hit = this.exact.claims(this.exact.key(at)).find(earlier);
      if (hit !== undefined) return { duplicate: true, reason: 'duplicate', of: this.where(hit) };
    }
    const sig = this.sigs[at];
    if (settings.near !== undefined && sig) {
      const seen = new Set<number>();
      for (const k of bandKeys(sig)) {
        for (const i of all(this.byBand.get(k))) {
          if (seen.has(i) || !earlier(i)) continue;
          seen.add(i);
          const o = this.sigs[i];
          if (o && similarity(o, sig) >= settings.near) return { duplicate: true, reason: 'near-duplicate', of: this.where(i) };
        }
      }
    }
    return { duplicate: false };
  }

  private where(i: number): { batch: number; slot: number } {
    return { batch: this.batch.get(i), slot: this.slot.get(i) };
  }
}

function all(v: number | number[] | undefined): number[] {
  return v === undefined ? [] : typeof v === 'number' ? [v] : v;
}

function push<K>(m: Map<K, number | number[]>, k: K, v: number): void {
  const a = m.get(k);
  if (a === undefined) m.set(k, v);
  else if (typeof a === 'number') m.set(k, [a, v]);
  else a.push(v);
}

/** A claim's index keys: its exact key as a number, and its LSH band keys (with a signature). */
export function claimKeys(c: Claim): { exact: number; bands: number[] } {
  return { exact: exactNumber(c.exact), bands: c.sig ? bandKeys(c.sig) : [] };
}

/**
 * Verdicts for `fresh` claims appended (in this order) after `earlier`: every earlier claim of the
 * log that shares a key with one of them, in log order. The same verdicts as a `DedupIndex` of the
 * whole log gives, since a claim is only ever compared with claims that share a key with it; so a
 * store can keep the keys and hand back the candidates instead of every worker holding the log.
 */
export function verdictsAfter(earlier: Claim[], fresh: Claim[], settings: DedupSettings): Verdict[] {
  const index = new DedupIndex();
  for (const c of earlier) index.add(c);
  const at = fresh.map((c) => index.add(c));
  return at.map((i) => index.check(i, settings));
}

/** A candidate's claim. */
export function claimFor(text: string, at: { attempt: string; batch: number; slot: number }, settings: DedupSettings): Claim {
  const claim: Claim = { ...at, exact: exactKey(text) };
  if (settings.near !== undefined) claim.sig = minhash(text);
  return claim;
}
