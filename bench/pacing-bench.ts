/**
 * `npm run bench:pacing`: the local LLM server enforces 600 requests per sliding minute; the run is
 * paced at 600/min (rate_limit.requests_per_minute) with 32 calls allowed in flight. For 3 minutes
 * it measures the share of the limit used and the share of calls answered 429; then the server
 * halves its limit to 300/min and, for 2 more minutes, the bench records 429s per 10 s and the rate
 * per sliding minute, to show how fast the shared pacing follows. Writes bench/results/pacing.json.
 *   PACING_PHASE1_S, PACING_PHASE2_S shorten the phases. PACING_TOLD=0: the run is told no limit and
 *   paces at what the server announces in its x-ratelimit-* headers (bench/results/pacing-announced.json).
 *   PACING_TOLD=0 PACING_ANNOUNCE=0: no headers either; the run learns the limit from the server's 429s
 *   (src/llm/learned-limits.ts; bench/results/pacing-learned.json).
 */
import { DataSetGenerator } from '../src/client/data-set-generator';
import { cpuSeconds, machine, runBench, startStack } from './stack';

const phase1 = Number(process.env.PACING_PHASE1_S ?? 180) * 1000;
const phase2 = Number(process.env.PACING_PHASE2_S ?? 120) * 1000;
const told = process.env.PACING_TOLD !== '0';
/** PACING_ANNOUNCE=0 (with PACING_TOLD=0): the server sends no rate-limit headers; the run learns the limit from its 429s. */
const announce = process.env.PACING_ANNOUNCE !== '0';
/**
 * PACING_TPM=N (with PACING_TOLD=0): the server enforces N tokens per sliding minute instead of a
 * request limit, announcing it in x-ratelimit-limit-tokens; halved in phase 2. The shares are of tokens
 * (bench/results/pacing-tokens.json).
 */
const tpm = process.env.PACING_TPM ? Number(process.env.PACING_TPM) : undefined;

async function main(): Promise<void> {
  const stack = await startStack({ taskQueue: 'pacing' });
  const { server, llm, worker, client, dataDir } = stack;
  llm.configure({ latencyMs: 200, announceLimit: announce, ...(tpm ? { tokensPerMinute: tpm, requestsPerMinute: undefined } : { requestsPerMinute: 600 }) });
  const gen = new DataSetGenerator({
    modelName: 'openai/gpt-4o-mini',
    dataDir,
    concurrency: 32,
    callsPerBatch: 4,
    maxRetries: 20,
    initialBackoffSeconds: 1,
    ...(told ? { rateLimit: { requestsPerMinute: 600, burst: 10 } } : {}),
    temporal: { client, taskQueue: 'pacing' },
  });
  const cpu0 = { worker: cpuSeconds(worker.pid!), server: cpuSeconds(server.pid!) };
  const t0 = Date.now();
  // More calls than the phases can make: the run is stopped at the end.
  const run = await gen.startData({ numSteps: 10_000, batchSize: 1, topics: [['Bench', 'Pacing']], runName: 'pacing' });
  await new Promise((r) => setTimeout(r, phase1));
  const halvedAt = Date.now();
  llm.configure({ latencyMs: 200, announceLimit: announce, ...(tpm ? { tokensPerMinute: tpm / 2 } : { requestsPerMinute: 300 }) });
  await new Promise((r) => setTimeout(r, phase2));
  const end = Date.now();
  await run.stop();
  await run.result().catch(() => undefined);

  const calls = llm.calls.filter((c) => c.startedAt < end);
  const inPhase = (a: number, b: number) => calls.filter((c) => c.startedAt >= a && c.startedAt < b);
  const p1 = inPhase(t0, halvedAt);
  // Calls, or with a token limit their tokens, that the server accepted.
  const weight = (c: (typeof calls)[number]) => (tpm ? c.inputTokens + c.outputTokens : 1);
  const p1ok = p1.filter((c) => c.outcome === 'ok').reduce((a, c) => a + weight(c), 0);
  const limit = tpm ?? 600;
  const p1Minutes = (halvedAt - t0) / 60_000;
  const buckets: { fromHalvingS: number; calls: number; rateLimited: number }[] = [];
  for (let t = halvedAt; t < end; t += 10_000) {
    const b = inPhase(t, t + 10_000);
    buckets.push({ fromHalvingS: (t - halvedAt) / 1000, calls: b.length, rateLimited: b.filter((c) => c.outcome === '429').length });
  }
  const last429 = Math.max(
    0,
    ...inPhase(halvedAt, end)
      .filter((c) => c.outcome === '429')
      .map((c) => c.startedAt),
  );
  const p2 = inPhase(halvedAt + 60_000, end);
  const out = {
    date: new Date().toISOString(),
    machine: machine(),
    limitPerMinute: tpm ? `${tpm} tokens` : 600,
    pacedAt: told
      ? 600
      : tpm
        ? 'the token limit announced in the answers (x-ratelimit-limit-tokens), as calls a minute at the tokens a call uses'
        : announce
          ? 'the limit announced in the answers (x-ratelimit-limit-requests)'
          : "the limit learned from the server's 429s (no rate-limit headers)",
    burst: told ? 10 : 1,
    phase1Seconds: (halvedAt - t0) / 1000,
    [tpm ? 'phase1TokensAccepted' : 'phase1CallsAnswered']: p1ok,
    phase1ShareOfLimitUsed: Number((p1ok / (limit * p1Minutes)).toFixed(3)),
    phase1RateLimitedShare: Number((p1.filter((c) => c.outcome === '429').length / Math.max(1, p1.length)).toFixed(4)),
    halvedTo: limit / 2,
    ...(tpm
      ? {
          phase2AfterFirstMinuteShareOfLimitUsed: Number(
            (
              inPhase(halvedAt + 60_000, end)
                .filter((c) => c.outcome === 'ok')
                .reduce((a, c) => a + weight(c), 0) /
              ((tpm / 2) * ((end - halvedAt - 60_000) / 60_000))
            ).toFixed(3),
          ),
        }
      : {}),
    secondsFromHalvingToLast429: last429 ? Number(((last429 - halvedAt) / 1000).toFixed(1)) : 0,
    phase2AfterFirstMinute: { calls: p2.length, rateLimitedShare: Number((p2.filter((c) => c.outcome === '429').length / Math.max(1, p2.length)).toFixed(4)) },
    phase2Per10s: buckets,
    longestSecondsWithoutAnAnswer: {
      phase1AfterFirstMinute: longestGap(calls, t0 + 60_000, halvedAt),
      phase2: longestGap(calls, halvedAt, end),
    },
    cpuMsPerCall: {
      worker: Number((((cpuSeconds(worker.pid!) - cpu0.worker) * 1000) / Math.max(1, calls.length)).toFixed(2)),
      devServer: Number((((cpuSeconds(server.pid!) - cpu0.server) * 1000) / Math.max(1, calls.length)).toFixed(2)),
    },
  };
  await stack.report(told ? 'pacing.json' : tpm ? 'pacing-tokens.json' : announce ? 'pacing-announced.json' : 'pacing-learned.json', out);
  await stack.stop();
}

/** The longest time (s) between answered calls started within [from, to): a stall shows here. */
function longestGap(calls: { startedAt: number; outcome: string }[], from: number, to: number): number {
  const oks = [from, ...calls.filter((c) => c.outcome === 'ok' && c.startedAt >= from && c.startedAt < to).map((c) => c.startedAt), to];
  return Number((Math.max(...oks.slice(1).map((t, i) => t - oks[i]!)) / 1000).toFixed(1));
}

runBench(main);
