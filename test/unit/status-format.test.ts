import { duration, formatRunsTable, formatStatus, formatPreview } from '../../src/client/status-format';
import { newStats, recordBatch, snapshot } from '../../src/workflows/stats';

it('status shows progress, rate, ETA, tokens, errors and a paused run as paused', () => {
  const s = newStats(100, 20, 0);
  recordBatch(s, { batchIndex: 0, requested: 5, accepted: 5, rejected: { too_short: 1 }, errors: { rate_limit: 2 }, attempts: 3, inputTokens: 100, outputTokens: 400, latencyMs: 9, finishedAtMs: 10_000, cached: false });
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
    expect(text.split('\n')).toEqual(['── batch 4', 'user: Weather in Paris?', 'assistant: [calls weather({"city":"Paris"})]', `assistant: ${'x'.repeat(30)}… (40 chars)`]);
  });
  it('prints question-form records field by field', () => {
    expect(formatPreview({ question: 'Q', chain_of_thought: 'C', final_answer: 'A' }, 'b')).toBe('── b\nquestion: Q\nchain_of_thought: C\nfinal_answer: A');
  });
});
