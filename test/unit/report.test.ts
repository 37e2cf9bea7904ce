/**
 * The report of a run still running (no manifest yet): its counts summed from the finished batches'
 * summaries, its topics' coverage against the run's stored topics, lengths, the timeline and the
 * sample with quality notes; and the page keeps every text of the data out of its markup.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { collectReport } from '../../src/client/report';
import { renderReport } from '../../src/client/report-page';
import { FsStore } from '../../src/storage/fs-store';
import type { StoredSummary } from '../../src/activities/types';

const rec = (text: string) => ({ messages: [{ role: 'user', content: text }], metadata: { topic_id: 't' } });

function summary(batchIndex: number, over: Partial<StoredSummary>): StoredSummary {
  return {
    batchIndex,
    requested: 4,
    accepted: 0,
    rejected: {},
    errors: {},
    attempts: 1,
    calls: 2,
    inputTokens: 100,
    outputTokens: 40,
    latencyMs: 2000,
    finishedAtMs: 1_000_000 + batchIndex * 3000,
    cached: false,
    ...over,
  };
}

it('sums a running run from its batches, with coverage against its stored topics', async () => {
  const run = new FsStore(mkdtempSync(path.join(os.tmpdir(), 'report-unit-'))).run('r1');
  await run.writeTopics({
    paths: [
      ['A', 'x'],
      ['A', 'y'],
      ['B', 'z'],
    ],
  });
  await run.writeShard(0, {
    summary: summary(0, {
      accepted: 2,
      rejected: { 'judge: correctness': 2 },
      recordTopics: [
        ['A', 'x'],
        ['A', 'x'],
      ],
      recordQuality: [{ scores: { correctness: 4 } }, { scores: { correctness: 5 }, flags: { has_digit: 'no digit' } }],
      quality: { judgeCalls: 4, judgeInputTokens: 80, scores: { correctness: { '1': 2, '4': 1, '5': 1 } } },
    }),
    records: [rec('12345'), rec('1234567890')],
  });
  await run.writeShard(1, {
    summary: summary(1, {
      accepted: 1,
      attempts: 2,
      calls: 3,
      errors: { rate_limit: 1 },
      recordTopics: [['B', 'z']],
      recordQuality: [{ scores: { correctness: 3 } }],
      quality: { judgeCalls: 1, judgeInputTokens: 20, scores: { correctness: { '3': 1 } } },
    }),
    records: [rec('<script>alert(1)</script>')],
  });
  const r = await collectReport('r1', run, new Date('2026-12-07T00:00:00Z'));
  expect(r).toMatchObject({
    status: 'running',
    source: 'batches',
    records: 3,
    accepted: 3,
    requested: 8,
    batchesDone: 2,
    calls: 5,
    retries: 1,
    inputTokens: 200,
    outputTokens: 80,
    rejected: { 'judge: correctness': 2 },
    errors: { rate_limit: 1 },
    quality: { judgeCalls: 5, judgeInputTokens: 100, scores: { correctness: { '1': 2, '3': 1, '4': 1, '5': 1 } } },
    topics: {
      total: 3,
      used: 2,
      unused: ['A -> y'],
      unusedCount: 1,
      perPath: [
        { path: 'A -> x', n: 2 },
        { path: 'B -> z', n: 1 },
      ],
    },
    lengths: { n: 3, min: 5, max: 25, median: 10 },
  });
  expect(r.samples.map((s) => s.note?.scores?.correctness)).toEqual([4, 5, 3]);
  expect(r.samples[1]!.note?.flags).toEqual({ has_digit: 'no digit' });
  // Two batches of 2 s finishing 3 s apart, binned by finish time from the first one's start: at 2 s and 5 s.
  expect(r.timeline.binSeconds).toBe(1);
  expect(r.timeline.bins.map((b) => [b.t, b.calls, b.rateLimited, b.retries])).toEqual([
    [0, 0, 0, 0],
    [1, 0, 0, 0],
    [2, 2, 0, 0],
    [3, 0, 0, 0],
    [4, 0, 0, 0],
    [5, 3, 1, 1],
  ]);

  const page = renderReport(r);
  expect(page).not.toContain('<script>alert(1)</script>'); // the example is data, not markup
  expect(page).toContain('\\u003cscript>alert(1)\\u003c/script>');
  expect(JSON.parse(/<script type="application\/json" id="report-data">(.*?)<\/script>/s.exec(page)![1]!)).toEqual(JSON.parse(JSON.stringify(r)));
});
