/** What `deepfabric status` and `deepfabric runs list` print for people (scripts use `--json`). Pure. */
import type { QualityNote } from '../config/quality';
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
    [
      'batches',
      `${s.batchesDone} done of ${s.batchesPlanned} planned, ${s.batchesInFlight} in flight, ${s.batchesFailed} failed${s.batchesCached ? `, ${s.batchesCached} reused from checkpoints` : ''}`,
    ],
    ['rate', `${s.examplesPerSecond.toFixed(1)} examples/s${s.etaSeconds !== null && s.accepted < s.target ? `, about ${duration(s.etaSeconds)} left` : ''}`],
    ['concurrency', String(s.concurrency)],
    ['tokens', `${s.inputTokens} in, ${s.outputTokens} out`],
  ];
  if (s.costUsd !== undefined) rows.push(['cost', `about $${s.costUsd.toFixed(4)}${s.budgetUsd !== undefined ? ` of a $${s.budgetUsd} budget` : ''}`]);
  if (s.stopReason) rows.push(['stopped', s.stopReason]);
  if (Object.keys(s.errorCategories).length) rows.push(['errors', counts(s.errorCategories)]);
  if (Object.keys(s.rejected).length) rows.push(['rejected', counts(s.rejected)]);
  for (const [id, b] of Object.entries(s.providerBatches ?? {})) rows.push(['provider batch', providerBatchText(id, b)]);
  const l = s.batchLines;
  if (l)
    rows.push([
      'batch lines',
      `${l.submitted} submitted: ${l.succeeded} answered, ${l.unusable} unusable, ${l.errored} errored, ${l.expired} expired, ${l.cancelled} cancelled; ${l.live} called live`,
    ]);
  return table(rows);
}

/** One provider batch: id, status, its lines by state, and which of the run's batches it carries. */
function providerBatchText(id: string, b: NonNullable<GenerationStats['providerBatches']>[string]): string {
  const by = (
    [
      ['processing', b.processing],
      ['succeeded', b.succeeded],
      ['errored', b.errored],
      ['expired', b.expired],
      ['cancelled', b.cancelled],
    ] as const
  )
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
  return `${id} ${b.status}: ${b.total} lines${by ? ` (${by})` : ''}, batches ${b.batches}${b.round ? `, resubmission ${b.round}` : ''}`;
}

/** An ended run, from what Temporal keeps without a worker (status and the progress memo). */
export function formatEnded(r: {
  runId: string;
  temporalStatus: string;
  closedAt?: string | undefined;
  progress?: { accepted?: number; target?: number; status?: string } | undefined;
  model?: string | undefined;
  records?: number;
  inputTokens?: number;
  outputTokens?: number;
  costUsd?: number;
  datasetPath?: string;
}): string {
  const p = r.progress;
  const rows: [string, string][] = [
    ['run', r.runId],
    ['status', `${p?.status ?? r.temporalStatus.toLowerCase()} (Temporal: ${r.temporalStatus})`],
  ];
  if (p?.target !== undefined) rows.push(['progress', `${p.accepted ?? 0} of ${p.target} examples (${pct(p.accepted ?? 0, p.target)})`]);
  if (r.model) rows.push(['model', r.model]);
  if (r.inputTokens !== undefined) {
    const cost = r.costUsd !== undefined ? `, estimated cost $${r.costUsd.toFixed(4)}` : '';
    rows.push(['tokens', `${r.inputTokens} in, ${r.outputTokens ?? 0} out${cost}`]);
  }
  if (r.datasetPath) rows.push(['dataset', `${r.records ?? '?'} records in ${r.datasetPath}`]);
  if (r.closedAt) rows.push(['ended', localTime(new Date(r.closedAt))]);
  return table(rows);
}

/** A moment for people: local time with its UTC offset, the same in every command. */
export function localTime(d: Date): string {
  const two = (n: number) => String(Math.abs(n)).padStart(2, '0');
  const off = -d.getTimezoneOffset();
  const sign = off >= 0 ? '+' : '-';
  return (
    `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())} ` +
    `${sign}${two(Math.trunc(off / 60))}:${two(off % 60)}`
  );
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

/**
 * Running runs started by another release (`release`: the run's memo; undefined for runs not
 * running) than `mine`: this release's workflow code does not replay their
 * histories (one workflow version per release, docs/RELEASES.md), so they must be finished or
 * stopped with the release that started them.
 */
export function olderReleaseNote(runs: { row: RunRow; release: string | undefined }[], mine: string): string {
  const other = runs.filter((r) => r.release !== undefined && r.release !== mine);
  if (!other.length) return '';
  const names = other.map((r) => `${r.row.runId} (${r.release})`).join(', ');
  return (
    `note: started by another release than this one (${mine}): ${names}. This release cannot continue ${other.length > 1 ? 'them' : 'it'}: ` +
    `finish or stop ${other.length > 1 ? 'them' : 'it'} with the release that started ${other.length > 1 ? 'them' : 'it'} (its worker), then upgrade; see docs/RELEASES.md\n`
  );
}

/** One record for a terminal: each message (or question, reasoning, answer) on its own lines, long texts cut. */
export function formatPreview(record: Record<string, unknown>, heading: string, maxChars = 400, note?: QualityNote): string {
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
  // The quality gates' word on it: the judge's scores (and reason), the validators it was kept flagged by.
  const q = note ?? (record.metadata as { quality?: QualityNote } | undefined)?.quality;
  if (q?.scores)
    lines.push(
      `judge: ${Object.entries(q.scores)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}${q.reason ? ` (${cut(q.reason)})` : ''}`,
    );
  for (const [name, why] of Object.entries(q?.flags ?? {})) lines.push(`flagged by ${name}: ${why}`);
  return lines.join('\n');
}

/**
 * The rate over active time: samples are taken only while the run is running (not paused, not
 * between a crash and its resume); the rate is over the samples of the last `windowMs`.
 */
export class ActiveRate {
  private samples: { t: number; accepted: number }[] = [];
  private activeMs = 0;
  private lastT: number | undefined;

  /** Records a poll; `active` is false while paused or when the stats could not be read. */
  sample(t: number, accepted: number, active: boolean): void {
    if (!active) {
      this.lastT = undefined;
      return;
    }
    if (this.lastT !== undefined) this.activeMs += t - this.lastT;
    this.lastT = t;
    this.samples.push({ t: this.activeMs, accepted });
    while (this.samples.length > 2 && this.samples[0]!.t < this.activeMs - 60_000) this.samples.shift();
  }

  /** Examples per second over the recent active time, or undefined before two active samples. */
  perSecond(): number | undefined {
    const a = this.samples[0];
    const b = this.samples[this.samples.length - 1];
    if (!a || !b || b.t <= a.t) return undefined;
    return ((b.accepted - a.accepted) * 1000) / (b.t - a.t);
  }
}

/** The bar's text: the most useful parts first, cut to `width` (the bar itself takes the rest of the line). */
export function progressLine(s: GenerationStats, rate: number | undefined, width: number): string {
  const parts = [`${s.accepted}/${s.target}`];
  if (s.paused) parts.push('paused: deepfabric resume to go on');
  else if (rate !== undefined) {
    parts.push(`${rate.toFixed(1)}/s`);
    if (rate > 0 && s.accepted < s.target) parts.push(`ETA ${duration((s.target - s.accepted) / rate)}`);
  }
  if (s.costUsd !== undefined) parts.push(`$${s.costUsd.toFixed(3)}`);
  if (s.errorCategories.rate_limit) parts.push(`${s.errorCategories.rate_limit} × 429`);
  if (s.batchesFailed) parts.push(`${s.batchesFailed} failed`);
  const waiting = Object.values(s.providerBatches ?? {}).filter((b) => !ENDED.has(b.status));
  if (waiting.length)
    parts.push(
      `${waiting.length} provider batch${waiting.length > 1 ? 'es' : ''}: ${waiting.reduce((n, b) => n + b.succeeded, 0)}/${waiting.reduce((n, b) => n + b.total, 0)} lines`,
    );
  let line = '';
  for (const p of parts) {
    const next = line ? `${line} | ${p}` : p;
    if (next.length > width) break;
    line = next;
  }
  return line || parts[0]!.slice(0, width);
}

/** Provider batch states after which nothing changes. */
const ENDED = new Set(['completed', 'expired', 'cancelled', 'failed', 'ended']);

const RETRY_WORDS: Record<string, string> = {
  rate_limit: "answered 429 (rate limit); retried after the provider's retry-after",
  timeout: 'timed out; retried',
  server_error: 'failed with a server error; retried',
};

/**
 * One line per notable change between two polls: failed batches, pause and resume. Retried calls
 * (429s, timeouts, server errors) are not here: they come in storms, one per slice, so `RetryDigest`
 * sums them into one line a minute and the bar counts them.
 */
export function notableEvents(prev: GenerationStats | undefined, cur: GenerationStats): string[] {
  if (!prev) {
    // Attaching (or the first look): the provider batches already there, and what closing the terminal does.
    const waiting = Object.entries(cur.providerBatches ?? {}).filter(([, b]) => !ENDED.has(b.status));
    return waiting.map(
      ([id, b]) =>
        `provider batch ${id} is at the provider (${b.status}, ${b.succeeded} of ${b.total} lines answered, batches ${b.batches}). ` +
        'Closing this terminal leaves it there; the same command collects it later',
    );
  }
  const out: string[] = [];
  const failed = cur.batchesFailed - prev.batchesFailed;
  if (failed > 0) out.push(`${failed} batch${failed > 1 ? 'es' : ''} failed after their retries (their examples are made up by extra batches)`);
  if (cur.paused && !prev.paused) out.push('paused: batches in flight finish, no new ones start');
  if (!cur.paused && prev.paused) out.push('resumed');
  for (const [id, b] of Object.entries(cur.providerBatches ?? {})) {
    const before = prev.providerBatches?.[id];
    if (!before)
      out.push(
        `provider batch ${id} submitted (${b.total || 'its'} lines, batches ${b.batches}): it runs at the provider, answered within 24 hours. ` +
          'Closing this terminal leaves it there; the same command collects it later',
      );
    else if (before.status !== b.status) out.push(`provider batch ${id}: ${b.status} (${b.succeeded} of ${b.total} lines answered)`);
  }
  return out;
}

/** Retried calls summed over a minute: the first at once, then at most one line per `everyMs`. */
export class RetryDigest {
  private pending: Record<string, number> = {};
  private lastLine: number | undefined;
  constructor(private readonly everyMs = 60_000) {}

  /** Adds the retries between two polls; returns the line to print now, if any. */
  add(prev: GenerationStats | undefined, cur: GenerationStats, now: number): string | undefined {
    if (prev) {
      for (const k of Object.keys(RETRY_WORDS)) {
        const n = (cur.errorCategories[k] ?? 0) - (prev.errorCategories[k] ?? 0);
        if (n > 0) this.pending[k] = (this.pending[k] ?? 0) + n;
      }
    }
    if (!Object.keys(this.pending).length || (this.lastLine !== undefined && now - this.lastLine < this.everyMs)) return undefined;
    const since = this.lastLine === undefined ? '' : ` in the last ${Math.round((now - this.lastLine) / 1000)} s`;
    const parts = Object.entries(this.pending).map(([k, n]) => `${n} call${n > 1 ? 's' : ''} ${RETRY_WORDS[k]}`);
    this.pending = {};
    this.lastLine = now;
    return `${parts.join('; ')}${since}`;
  }
}
