import {
  ActiveRate,
  duration,
  formatPreview,
  formatRunsTable,
  formatStatus,
  notableEvents,
  olderReleaseNote,
  progressLine,
  RetryDigest,
} from '../../src/client/status-format';
import { newStats, recordBatch, snapshot } from '../../src/workflows/stats';

it('status shows progress, rate, ETA, tokens, errors and a paused run as paused', () => {
  const s = newStats(100, 20, 0);
  recordBatch(s, {
    batchIndex: 0,
    requested: 5,
    accepted: 5,
    rejected: { too_short: 1 },
    errors: { rate_limit: 2 },
    attempts: 3,
    inputTokens: 100,
    outputTokens: 400,
    latencyMs: 9,
    finishedAtMs: 10_000,
    cached: false,
  });
  const text = formatStatus(snapshot(s, { runId: 'ds-1', status: 'running', batchesInFlight: 3, concurrency: 4, paused: true }));
  expect(text).toMatch(/^status\s+paused \(deepfabric resume to go on\)$/m);
  expect(text).toMatch(/^progress\s+5 of 100 examples \(5%\)$/m);
  expect(text).toMatch(/^rate\s+0\.5 examples\/s, about 3m 10s left$/m);
  expect(text).toMatch(/^tokens\s+100 in, 400 out$/m);
  expect(text).toMatch(/^errors\s+rate_limit 2$/m);
  expect(text).toMatch(/^rejected\s+too_short 1$/m);
});

it('durations read like a person would write them', () => {
  expect([duration(45), duration(200), duration(3720)]).toEqual(['45s', '3m 20s', '1h 02m']);
});

it('runs list aligns its columns under a header', () => {
  const out = formatRunsTable([
    { runId: 'a-1', status: 'running', model: 'openai/gpt-4o', progress: '5/10', started: '2026-11-27 10:00:00' },
    { runId: 'longer-run-2', status: 'stopped', model: 'anthropic/claude', progress: '1/1000', started: '2026-11-27 11:00:00' },
  ]).split('\n');
  expect(out).toHaveLength(3);
  const col = (line: string) => line.indexOf(line.includes('RUN ID') ? 'STATUS' : line.includes('running') ? 'running' : 'stopped');
  expect(new Set(out.map(col)).size).toBe(1);
});

it('runs list names the running runs another release started, and says to finish them with it before upgrading', () => {
  const row = (runId: string) => ({ runId, status: 'running', model: 'm', progress: '1/2', started: '' });
  const runs = [
    { row: row('mine'), release: '0.2.0' },
    { row: row('old'), release: '0.1.0' },
    { row: row('older'), release: 'an earlier build' },
    { row: row('done'), release: undefined }, // not running: nothing to replay
  ];
  const note = olderReleaseNote(runs, '0.2.0');
  expect(note).toMatch(/^note: started by another release than this one \(0\.2\.0\): old \(0\.1\.0\), older \(an earlier build\)\./);
  expect(note).toMatch(/finish or stop them with the release that started them/);
  expect(note).not.toMatch(/mine|done/);
  expect(olderReleaseNote([runs[0]!, runs[3]!], '0.2.0')).toBe('');
});

describe('formatPreview', () => {
  it('prints each message on its line, tool calls named, long texts cut with their length', () => {
    const text = formatPreview(
      {
        messages: [
          { role: 'user', content: 'Weather in Paris?' },
          { role: 'assistant', content: '', tool_calls: [{ id: 'c', type: 'function', function: { name: 'weather', arguments: '{"city":"Paris"}' } }] },
          { role: 'assistant', content: 'x'.repeat(40) },
        ],
      },
      'batch 4',
      30,
    );
    expect(text.split('\n')).toEqual([
      '── batch 4',
      'user: Weather in Paris?',
      'assistant: [calls weather({"city":"Paris"})]',
      `assistant: ${'x'.repeat(30)}… (40 chars)`,
    ]);
  });
  it('prints question-form records field by field', () => {
    expect(formatPreview({ question: 'Q', chain_of_thought: 'C', final_answer: 'A' }, 'b')).toBe('── b\nquestion: Q\nchain_of_thought: C\nfinal_answer: A');
  });
});

describe('the progress bar line', () => {
  const stats = (over: Partial<ReturnType<typeof snapshot>> = {}) => ({
    ...snapshot(newStats(2000, 400, 0), { runId: 'r', status: 'running', batchesInFlight: 2, concurrency: 8, paused: false }),
    ...over,
  });

  it('measures the rate over active time only: a pause does not lower it', () => {
    const r = new ActiveRate();
    r.sample(0, 0, true);
    r.sample(10_000, 100, true); // 10/s
    r.sample(70_000, 100, false); // paused for a minute
    r.sample(80_000, 100, true); // resumed
    r.sample(90_000, 200, true);
    expect(r.perSecond()).toBeCloseTo(10, 6);
  });

  it('fits its width, keeping count, rate and ETA at 80 columns; says paused', () => {
    const line = progressLine(stats({ accepted: 500, costUsd: 0.1234, batchesFailed: 2 }), 12.5, 45);
    expect(line).toBe('500/2000 | 12.5/s | ETA 2m 00s | $0.123');
    expect(line.length).toBeLessThanOrEqual(45);
    expect(progressLine(stats({ accepted: 500 }), 12.5, 200)).toBe('500/2000 | 12.5/s | ETA 2m 00s');
    expect(progressLine(stats({ accepted: 500, paused: true }), 12.5, 200)).toBe('500/2000 | paused: deepfabric resume to go on');
  });

  it('prints one line per notable event between two polls', () => {
    const a = stats({ errorCategories: { rate_limit: 2 } });
    const b = stats({ errorCategories: { rate_limit: 14, timeout: 1 }, batchesFailed: 1, paused: true });
    expect(notableEvents(a, b)).toEqual([
      '1 batch failed after their retries (their examples are made up by extra batches)',
      'paused: batches in flight finish, no new ones start',
    ]);
    expect(notableEvents(b, b)).toEqual([]);
    expect(notableEvents(undefined, b)).toEqual([]);
  });

  it('sums retried calls into one line a minute (the first at once), however many slices report them', () => {
    const digest = new RetryDigest(60_000);
    const at = (n: number, t = 0) => stats({ errorCategories: { rate_limit: n, ...(t ? { timeout: t } : {}) } });
    expect(digest.add(undefined, at(0), 0)).toBeUndefined();
    expect(digest.add(at(0), at(2), 1_000)).toBe("2 calls answered 429 (rate limit); retried after the provider's retry-after");
    // Sixteen slices reporting over 50 s: no line until a minute has passed since the last one, then one.
    const lines: (string | undefined)[] = [];
    for (let i = 1; i <= 16; i++) lines.push(digest.add(at(i + 1), at(i + 2, i === 16 ? 1 : 0), 1_000 + i * 3_125));
    expect(lines.filter(Boolean)).toEqual([]);
    expect(digest.add(at(18, 1), at(19, 1), 61_000)).toBe(
      "17 calls answered 429 (rate limit); retried after the provider's retry-after; 1 call timed out; retried in the last 60 s",
    );
    expect(digest.add(at(19, 1), at(19, 1), 200_000)).toBeUndefined(); // nothing new, nothing said
  });
  it('counts 429s in the bar', () => {
    expect(progressLine(stats({ accepted: 5, errorCategories: { rate_limit: 31 } }), undefined, 200)).toBe('5/2000 | 31 × 429');
  });
});
