import { ModelError, RunFailedError, ValidationError } from '../../src/errors';
import { adviceFor, incompleteRunError } from '../../src/client/run-outcome';
import { safeUrl } from '../../src/llm/classify-error';
import { newStats, recordBatch, recordBatchFailure, snapshot } from '../../src/workflows/stats';
import type { RunResult } from '../../src/workflows/dataset-run';

function result(fold: (s: ReturnType<typeof newStats>) => void): RunResult {
  const s = newStats(10, 5, 0);
  fold(s);
  return {
    runId: 'ds-1',
    status: 'incomplete',
    datasetPath: '/data/runs/ds-1/dataset.jsonl',
    manifestPath: '/data/runs/ds-1/manifest.json',
    records: s.accepted,
    stats: snapshot(s, { runId: 'ds-1', status: 'completed', batchesInFlight: 0, concurrency: 2, paused: false }),
  };
}
const ok = (i: number) => ({
  batchIndex: i,
  requested: 2,
  accepted: 2,
  rejected: {},
  errors: {},
  attempts: 1,
  inputTokens: 1,
  outputTokens: 1,
  latencyMs: 1,
  finishedAtMs: 1,
  cached: false,
});

describe('a run that ended short raises the error the seed names', () => {
  it('a provider that kept answering 5xx: ModelError with provider, endpoint, run id and partial path', () => {
    const err = incompleteRunError(
      result((s) => {
        recordBatch(s, ok(0));
        for (let i = 1; i < 5; i++)
          recordBatchFailure(s, 'server_error', 4, 2, {
            message: 'openai/gpt-4o: HTTP 503: busy',
            provider: 'openai',
            baseUrl: 'http://127.0.0.1:9/v1',
            status: 503,
          });
      }),
    );
    expect(err).toBeInstanceOf(ModelError);
    const m = err as ModelError;
    expect({ category: m.category, provider: m.provider, baseUrl: m.baseUrl, runId: m.runId, datasetPath: m.datasetPath }).toEqual({
      category: 'server_error',
      provider: 'openai',
      baseUrl: 'http://127.0.0.1:9/v1',
      runId: 'ds-1',
      datasetPath: '/data/runs/ds-1/dataset.jsonl',
    });
    expect(m.message).toMatch(/ended with 2 of 10 examples .*4 batches failed .*server_error: 4.*HTTP 503.*the same command resumes/);
  });

  it('answers that kept breaking the schema: ValidationError with run id and partial path', () => {
    const err = incompleteRunError(result((s) => recordBatchFailure(s, 'validation_error', 4, 2, { message: 'conversations: Required', provider: 'openai' })));
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).runId).toBe('ds-1');
    expect((err as ValidationError).datasetPath).toBe('/data/runs/ds-1/dataset.jsonl');
    expect(err.message).toMatch(/record schema/);
  });

  it('a closed port names the URL and the setting to fix', () => {
    const note = { message: 'openai/gpt-4o: could not connect to http://127.0.0.1:9/v1 (ECONNREFUSED)', provider: 'openai', baseUrl: 'http://127.0.0.1:9/v1' };
    expect(adviceFor('server_error', note)).toBe(
      "nothing answered at http://127.0.0.1:9/v1: check llm.base_url (or the provider's *_BASE_URL in the worker's environment) and that the server is up",
    );
  });

  it("a refused key names the provider's own variable (Gemini's two), or a generic hint without a provider", () => {
    const note = (provider?: string) => ({ message: 'refused', ...(provider ? { provider } : {}) });
    expect(adviceFor('auth_error', note('anthropic'))).toBe("anthropic refused the API key: set ANTHROPIC_API_KEY in the worker's environment");
    expect(adviceFor('auth_error', note('gemini'))).toMatch(/set GEMINI_API_KEY \(or GOOGLE_API_KEY\) in/);
    expect(adviceFor('auth_error', note())).toMatch(/set the provider's key \(e\.g\. OPENAI_API_KEY\)/);
  });

  it('without a recorded category it is still a RunFailedError naming the run', () => {
    const err = incompleteRunError(result((s) => recordBatch(s, ok(0))));
    expect(err).toBeInstanceOf(RunFailedError);
    expect(err.message).toMatch(/run ds-1 ended with 2 of 10/);
  });
});

it('endpoints lose credentials before they are recorded', () => {
  expect(safeUrl('https://user:secret@api.example.com/v1/?key=abc#x')).toBe('https://api.example.com/v1');
  expect(safeUrl('not a url')).toBe('not a url');
});
