/** What `deepfabric status` and `deepfabric runs list` print for people (scripts use `--json`). Pure. */
import type { GenerationStats } from '../workflows/stats';

const pct = (a: number, b: number) => (b > 0 ? `${Math.floor((100 * a) / b)}%` : '-');

/** "1h 02m", "3m 20s", "45s". */
export function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s >= 3600) return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  if (s >= 60) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  return `${s}s`;
}

const counts = (r: Record<string, number>) =>
  Object.entries(r)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');

/** A running run's live stats as a few aligned lines. */
export function formatStatus(s: GenerationStats): string {
  const rows: [string, string][] = [
    ['run', s.runId],
    ['status', s.paused ? 'paused (deepfabric resume to go on)' : s.status],
    ['progress', `${s.accepted} of ${s.target} examples (${pct(s.accepted, s.target)})`],
    ['batches', `${s.batchesDone} done of ${s.batchesPlanned} planned, ${s.batchesInFlight} in flight, ${s.batchesFailed} failed${s.batchesCached ? `, ${s.batchesCached} reused from checkpoints` : ''}`],
    ['rate', `${s.examplesPerSecond.toFixed(1)} examples/s${s.etaSeconds !== null && s.accepted < s.target ? `, about ${duration(s.etaSeconds)} left` : ''}`],
    ['concurrency', String(s.concurrency)],
    ['tokens', `${s.inputTokens} in, ${s.outputTokens} out`],
  ];
  if (s.costUsd !== undefined) rows.push(['cost', `about $${s.costUsd.toFixed(4)}${s.budgetUsd !== undefined ? ` of a $${s.budgetUsd} budget` : ''}`]);
  if (s.stopReason) rows.push(['stopped', s.stopReason]);
  if (Object.keys(s.errorCategories).length) rows.push(['errors', counts(s.errorCategories)]);
  if (Object.keys(s.rejected).length) rows.push(['rejected', counts(s.rejected)]);
  return table(rows);
}

/** An ended run, from what Temporal keeps without a worker (status and the progress memo). */
export function formatEnded(r: { runId: string; temporalStatus: string; closedAt?: string | undefined; progress?: { accepted?: number; target?: number; status?: string } | undefined; model?: string | undefined }): string {
  const p = r.progress;
  const rows: [string, string][] = [
    ['run', r.runId],
    ['status', `${p?.status ?? r.temporalStatus.toLowerCase()} (Temporal: ${r.temporalStatus})`],
  ];
  if (p?.target !== undefined) rows.push(['progress', `${p.accepted ?? 0} of ${p.target} examples (${pct(p.accepted ?? 0, p.target)})`]);
  if (r.model) rows.push(['model', r.model]);
  if (r.closedAt) rows.push(['ended', r.closedAt]);
  return table(rows);
}

function table(rows: [string, string][]): string {
  const w = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n');
}

export interface RunRow {
  runId: string;
  status: string;
  model: string;
  progress: string;
  started: string;
}

/** `runs list`: a header and one aligned row per run. */
export function formatRunsTable(rows: RunRow[]): string {
  const header: RunRow = { runId: 'RUN ID', status: 'STATUS', model: 'MODEL', progress: 'PROGRESS', started: 'STARTED' };
  const all = [header, ...rows];
  const keys = Object.keys(header) as (keyof RunRow)[];
  const widths = keys.map((k) => Math.max(...all.map((r) => r[k].length)));
  return all.map((r) => keys.map((k, i) => (i === keys.length - 1 ? r[k] : r[k].padEnd(widths[i]!))).join('  ')).join('\n');
}

/** One record for a terminal: each message (or question, reasoning, answer) on its own lines, long texts cut. */
export function formatPreview(record: Record<string, unknown>, heading: string, maxChars = 400): string {
  const cut = (t: string) => (t.length > maxChars ? `${t.slice(0, maxChars)}… (${t.length} chars)` : t);
  const lines = [`── ${heading}`];
  if (Array.isArray(record.messages)) {
    for (const m of record.messages as { role: string; content: string; tool_calls?: { function?: { name: string; arguments: string } }[] }[]) {
      const calls = (m.tool_calls ?? []).map((c) => `${c.function?.name}(${c.function?.arguments ?? ''})`).join(', ');
      lines.push(`${m.role}: ${cut(m.content)}${calls ? `${m.content ? ' ' : ''}[calls ${cut(calls)}]` : ''}`);
    }
  }
  for (const key of ['question', 'chain_of_thought', 'final_answer', 'reasoning_trace']) {
    const v = record[key];
    if (v !== undefined) lines.push(`${key}: ${cut(typeof v === 'string' ? v : JSON.stringify(v))}`);
  }
  return lines.join('\n');
}
